/**
 * Runs one scenario against one runtime. The harness starts a server
 * process on a free port with the scenario's flags and, when the scenario
 * requests them, a fault proxy or an RPC proxy in front of it. It reads the server's limits,
 * passes the scenario its context and stops everything afterwards, whether
 * the scenario passed or not.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Code, ConnectError } from "@connectrpc/connect";

import { startFaultProxy, type FaultProxy } from "../net/fault-proxy.js";
import { startRpcProxy, type RpcProxy } from "../net/rpc-proxy.js";
import type { ClientOptions, ClientRuntime } from "../runtimes/types.js";
import { startServerProcess } from "../server-process.js";
import { protocolUser, type ProtocolUser } from "./protocol.js";
import type { Limits, Scenario, ScenarioContext, ServerControl } from "./types.js";

/** Options of runScenario. */
export interface RunScenarioOptions {
  /** Receives the scenario's progress lines. Default: none. */
  log?: (line: string) => void;
  /** Keep the server's data folder after a passing run too. Default false: only a failed run keeps it. */
  keepServerData?: boolean;
  /**
   * The server to start in place of chatwire-server, and flags it gets
   * before the scenario's own; see ServerProcessOptions.script. Default: the
   * reference server with the scenario's flags only.
   */
  server?: { script?: string; args?: readonly string[] };
}

let runCounter = 0;

/**
 * A running server a scenario can use: where it listens, how to mint its
 * tokens and, for a server process the caller started, how to kill and
 * restart it.
 */
export interface ScenarioServer {
  readonly url: string;
  readonly port: number;
  token(userId: string, ttlSeconds?: number): Promise<string>;
  kill?(signal?: "SIGKILL" | "SIGTERM"): Promise<unknown>;
  restart?(): Promise<void>;
}

/**
 * Runs `scenario` on `runtime` against a server process of its own, started
 * with the scenario's flags. Rejects with the scenario's assertion error,
 * and then keeps the server's log and names it in the message.
 */
export async function runScenario(
  scenario: Scenario,
  runtime: ClientRuntime,
  options: RunScenarioOptions = {},
): Promise<void> {
  const runId = `${scenario.id.toLowerCase()}-${process.pid}-${++runCounter}`;
  // The harness owns the data folder so that it can keep the server's log
  // when the scenario fails.
  const dataDir = await mkdtemp(join(tmpdir(), `chatwire-${runId}-`));
  const server = await startServerProcess({
    dataDir,
    args: [...(options.server?.args ?? []), ...(scenario.serverArgs ?? [])],
    ...(options.server?.script === undefined ? {} : { script: options.server.script }),
  });
  let failed = true;
  try {
    await runScenarioOn(scenario, runtime, server, { ...options, runId });
    failed = false;
  } catch (error) {
    if (error instanceof Error) error.message += `\n(server log kept at ${server.logFile})`;
    throw error;
  } finally {
    await server.stop();
    if (!failed && !options.keepServerData) await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * Runs `scenario` against a server that is already running, which must have
 * been started with the scenario's `serverArgs`. Starts and closes the
 * proxies the scenario requests. A scenario that restarts the server needs
 * a `server` with kill() and restart().
 */
export async function runScenarioOn(
  scenario: Scenario,
  runtime: ClientRuntime,
  server: ScenarioServer,
  options: RunScenarioOptions & { runId?: string } = {},
): Promise<void> {
  const log = options.log ?? (() => {});
  const runId = options.runId ?? `${scenario.id.toLowerCase()}-${process.pid}-${++runCounter}`;
  const control = serverControl(server);
  if (scenario.restartsServer && control === undefined) {
    throw new Error(`${scenario.id} kills and restarts the server; pass a ScenarioServer with kill() and restart()`);
  }
  const target = { host: "127.0.0.1", port: server.port };
  let proxy: FaultProxy | undefined;
  let rpcProxy: RpcProxy | undefined;
  try {
    if (scenario.proxy) proxy = await startFaultProxy({ target });
    if (scenario.rpcProxy) rpcProxy = await startRpcProxy({ target });
    const context = await createContext({ scenario, runtime, server, control, proxy, rpcProxy, runId, log });
    await scenario.run(context);
  } finally {
    await proxy?.close();
    await rpcProxy?.close();
  }
}

function serverControl(server: ScenarioServer): ServerControl | undefined {
  const { kill, restart } = server;
  if (kill === undefined || restart === undefined) return undefined;
  return {
    kill: async (signal = "SIGKILL") => {
      await kill.call(server, signal);
    },
    restart: () => restart.call(server),
  };
}

interface ContextParts {
  scenario: Scenario;
  runtime: ClientRuntime;
  server: ScenarioServer;
  control: ServerControl | undefined;
  proxy: FaultProxy | undefined;
  rpcProxy: RpcProxy | undefined;
  runId: string;
  log: (line: string) => void;
}

async function createContext(parts: ContextParts): Promise<ScenarioContext> {
  const { server, runId, scenario } = parts;
  const users = new Map<string, ProtocolUser>();
  const user = (userId: string): ProtocolUser => {
    let found = users.get(userId);
    if (!found) {
      found = protocolUser(server.url, userId, () => server.token(userId));
      users.set(userId, found);
    }
    return found;
  };
  const limits = await readLimits(user("conformance-probe"));

  return {
    runtime: parts.runtime,
    serverUrl: server.url,
    proxy: parts.proxy,
    rpcProxy: parts.rpcProxy,
    server: scenario.restartsServer ? parts.control : undefined,
    limits,
    token: (userId, ttlSeconds) => server.token(userId, ttlSeconds),
    user,
    clientOptions(userId, label = "main", overrides = {}): ClientOptions {
      return {
        userId,
        baseUrl: server.url,
        storageName: `${runId}-${userId}-${label}`,
        getToken: () => server.token(userId),
        ...overrides,
      };
    },
    step: (message) => parts.log(`[${parts.runtime.name} ${scenario.id}] ${message}`),
  };
}

async function readLimits(probe: ProtocolUser): Promise<Limits> {
  const info = await probe.chat.getServerInfo({});
  const limits = info.limits;
  if (!limits) throw new ConnectError("GetServerInfo returned no limits", Code.Internal);
  return {
    maxMessageBytes: limits.maxMessageBytes,
    maxPageSize: limits.maxPageSize,
    heartbeatIntervalMs: limits.heartbeatIntervalMs,
  };
}
