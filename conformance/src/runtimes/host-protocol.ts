/**
 * The messages between a scenario and a client host, one JSON value per
 * line. A Node host reads them on stdin and writes them on stdout; a browser
 * page can carry the same values through `page.evaluate` and an exposed
 * function.
 *
 * The sequence:
 * 1. The parent sends `init` with the client options (all but `getToken`).
 * 2. The host opens its storage, starts the SDK and writes `ready`, or
 *    `fatal` and exits.
 * 3. The parent sends `call`s; the host answers each with a `result` or an
 *    `error` carrying the same id. Calls may overlap.
 * 4. Whenever the SDK needs a token, the host writes `token-request` and
 *    waits for the parent's `token` (or `token-error`) with the same id.
 * 5. The host exits after answering the `close` call, or when it is killed.
 */
import type { ClientOptions, RuntimeClient } from "./types.js";

/** The RuntimeClient methods a host serves, by name. */
export type HostMethod = Exclude<keyof RuntimeClient, "userId">;

/** Every method name, so a host can reject unknown ones by name. */
export const HOST_METHODS: readonly HostMethod[] = [
  "send",
  "createDirect",
  "createGroup",
  "removeMembers",
  "retry",
  "markRead",
  "setNetworkAvailable",
  "syncNow",
  "background",
  "foreground",
  "wake",
  "snapshot",
  "waitFor",
  "events",
  "close",
];

/** Client options as they travel to a host: the token callback stays with the parent. */
export type HostInit = Omit<ClientOptions, "getToken"> & {
  /** Absolute path of the storage file or database name the host opens. */
  storagePath: string;
};

/** A message from the parent to the host. */
export type ParentMessage =
  | { type: "init"; options: HostInit }
  | { type: "call"; id: number; method: HostMethod; params: unknown[] }
  | { type: "token"; id: number; token: string }
  | { type: "token-error"; id: number; message: string };

/** An error as it crosses the process boundary. */
export interface WireError {
  name: string;
  message: string;
  /** Connect code name ("invalid_argument") when the SDK reported one. */
  code?: string;
}

/** A message from the host to the parent. */
export type HostMessage =
  | { type: "ready" }
  | { type: "fatal"; error: WireError }
  | { type: "result"; id: number; value: unknown }
  | { type: "error"; id: number; error: WireError }
  | { type: "token-request"; id: number; reason: string };

/** Converts any thrown value into a WireError, keeping a Connect code when there is one. */
export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  // The SDK's ChatError carries the Connect code name as `codeName`.
  const codeName = (error as { codeName?: unknown }).codeName;
  return {
    name: error.name,
    message: error.message,
    ...(typeof codeName === "string" ? { code: codeName } : {}),
  };
}

/** An error from a host, carrying the remote name and code. */
export class HostCallError extends Error {
  readonly code: string | undefined;

  constructor(method: string, remote: WireError) {
    super(`${method} failed in the client host: ${remote.name}: ${remote.message}`);
    this.name = "HostCallError";
    this.code = remote.code;
  }
}

/** Calls one RuntimeClient method by name with JSON parameters. */
export async function dispatchCall(client: RuntimeClient, method: string, params: unknown[]): Promise<unknown> {
  if (!(HOST_METHODS as readonly string[]).includes(method)) {
    throw new Error(`unknown host method ${JSON.stringify(method)}; expected one of ${HOST_METHODS.join(", ")}`);
  }
  const fn = client[method as HostMethod] as (...args: unknown[]) => Promise<unknown>;
  const value = await fn.apply(client, params);
  return value === undefined ? null : value;
}
