import type { Logger } from "../options.js";

/**
 * The client's connection to the server, as reported to the host app.
 *
 * connecting: the client is syncing or opening the event stream. `attempt`
 * counts the failures since the last time it was connected (0 for the first
 * try).
 *
 * connected: events arrive in real time, either over the Subscribe stream or,
 * where a proxy buffers streams, by long-polling Sync (`via`). The outbox
 * sends while connected.
 *
 * waiting: the last attempt failed and the client retries at `retryAt` (ms
 * since the epoch), `delayMs` after the failure. `reason` names what failed.
 * `syncNow()` retries at once.
 *
 * offline: the host reported that the network is unavailable; the client
 * makes no calls until the host reports that the network is back.
 *
 * suspended: the app is in the background; the client holds no connection and
 * no timer (a push wake-up may run one bounded sync).
 *
 * closed: nothing runs. `reason` is "not started" before `start()`, "closed"
 * after `close()`, or the error that stopped the client.
 *
 * ```
 *  start ─► connecting ──frame──► connected ──stream lost──► waiting
 *              ▲    └──failure──────────────────────────────► │
 *              └───────────────── delay elapsed ◄─────────────┘
 *  any ──setNetworkAvailable(false)──► offline    any ──background()──► suspended
 * ```
 */
export type ConnectionState =
  | { kind: "connecting"; attempt: number }
  | { kind: "connected"; via: "stream" | "long-poll" }
  | { kind: "waiting"; attempt: number; retryAt: number; delayMs: number; reason: string }
  | { kind: "offline" }
  | { kind: "suspended" }
  | { kind: "closed"; reason: string };

/** Receives each change with the new and the previous state. */
export type ConnectionStateListener = (next: ConnectionState, previous: ConnectionState) => void;

/** Stores the current state and notifies listeners of every change. */
export class ConnectionStateHolder {
  #current: ConnectionState = Object.freeze({ kind: "closed", reason: "not started" });
  readonly #listeners = new Set<ConnectionStateListener>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get current(): ConnectionState {
    return this.#current;
  }

  /** Moves to `next` and notifies listeners, unless `next` equals the current state. */
  set(next: ConnectionState): void {
    const previous = this.#current;
    if (sameState(previous, next)) return;
    this.#current = Object.freeze({ ...next });
    this.#logger.debug({ from: previous, to: next }, "connection state changed");
    for (const listener of [...this.#listeners]) {
      try {
        listener(this.#current, previous);
      } catch (error) {
        this.#logger.error({ err: error }, "connection state listener threw; the client carries on");
      }
    }
  }

  /** Registers a listener and returns the function that removes it. */
  subscribe(listener: ConnectionStateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function sameState(a: ConnectionState, b: ConnectionState): boolean {
  const keysA = Object.keys(a) as (keyof ConnectionState)[];
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => (a as Record<string, unknown>)[key] === (b as Record<string, unknown>)[key]);
}
