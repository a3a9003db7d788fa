/**
 * The scenario contract and the context a scenario runs with.
 *
 * A scenario plays one situation end to end against a real server process
 * and one client runtime, and checks one or more guarantees with
 * `node:assert`, so it runs the same under vitest and under a command-line
 * runner. It states what it needs (server flags, a fault proxy between the
 * clients and the server); the harness provides it and cleans up.
 */
import type { FaultProxy } from "../net/fault-proxy.js";
import type { RpcProxy } from "../net/rpc-proxy.js";
import type { ClientOptions, ClientRuntime } from "../runtimes/types.js";
import type { Guarantee, Profile } from "../tags.js";
import type { ProtocolUser } from "./protocol.js";

export type { Guarantee, Profile } from "../tags.js";

/** The server's limits as GetServerInfo reports them. */
export interface Limits {
  maxMessageBytes: number;
  maxPageSize: number;
  heartbeatIntervalMs: number;
}

/** Control over the server process, for scenarios that crash or restart it. */
export interface ServerControl {
  /** Ends the server with `signal` (default SIGKILL, a crash) and resolves once it has exited. */
  kill(signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
  /** Starts the server again on the same port, data and token secret, stopping it first if it runs. */
  restart(): Promise<void>;
}

/** The servers, clients and helpers the harness passes to a running scenario. */
export interface ScenarioContext {
  readonly runtime: ClientRuntime;
  /** The server's URL. Clients connect here unless a scenario points them at the proxy. */
  readonly serverUrl: string;
  /** A fault proxy in front of the server, when the scenario asked for one; its `url` is for clients. */
  readonly proxy: FaultProxy | undefined;
  /** An RPC proxy in front of the server, when the scenario asked for one; its `url` is for clients. */
  readonly rpcProxy: RpcProxy | undefined;
  /** The server process, when the scenario declared `restartsServer`. */
  readonly server: ServerControl | undefined;
  readonly limits: Limits;
  /** Mints a token for `userId`, valid for `ttlSeconds` (default one hour). */
  token(userId: string, ttlSeconds?: number): Promise<string>;
  /** Protocol clients acting as `userId`, straight to the server. */
  user(userId: string): ProtocolUser;
  /**
   * Client options for `userId`: the server's URL, a storage name unique
   * to this run (`label` distinguishes two storages of one user) and a token
   * callback that mints hour-long tokens. `overrides` replaces any field.
   */
  clientOptions(userId: string, label?: string, overrides?: Partial<ClientOptions>): ClientOptions;
  /** Records a progress line in the scenario's log. */
  step(message: string): void;
}

/** One end-to-end scenario. */
export interface Scenario {
  /** Short stable id ("S1"), used in test names and reports. */
  readonly id: string;
  /** One-line summary of the situation and the expected outcome. */
  readonly title: string;
  readonly guarantees: readonly Guarantee[];
  /** The profile a runtime must claim for this scenario to apply to it. */
  readonly profile: Profile;
  /** Extra chatwire-server flags ("--heartbeat-ms", "300"). */
  readonly serverArgs?: readonly string[];
  /** True when clients must connect through a fault proxy. */
  readonly proxy?: boolean;
  /** True when clients must connect through an RPC proxy. */
  readonly rpcProxy?: boolean;
  /** True when the scenario kills or restarts the server, which needs a server the harness started. */
  readonly restartsServer?: boolean;
  /** Upper bound for the whole scenario, in ms. */
  readonly timeoutMs: number;
  run(context: ScenarioContext): Promise<void>;
}
