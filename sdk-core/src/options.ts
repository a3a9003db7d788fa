import type { Transport } from "@connectrpc/connect";
import type { ChatStorage } from "./storage/types.js";

/** The reason for a token request. */
export interface TokenRequestContext {
  /**
   * initial: the client has no token yet.
   * expired: the server reported the current token expired (TOKEN_EXPIRED).
   * rejected: the server rejected the current token for another reason.
   */
  reason: "initial" | "expired" | "rejected";
}

/**
 * A structured logger with pino's call shape: the first argument carries the
 * context fields, the second the message. The core never writes to the console.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** An opaque timer handle returned by `Clock.setTimeout`. */
export type TimerHandle = unknown;

/** Time and timers, injected so that tests control both. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Options of `createChatClient`. */
export interface ChatClientOptions {
  /** A Connect transport from the runtime package (Node, browser). */
  transport: Transport;
  /** Storage for the outbox, the messages and the sync cursor. */
  storage: ChatStorage;
  /** The signed-in user. A storage that belongs to another user is rejected by `start()`. */
  userId: string;
  /**
   * Returns a bearer token (JWT) for the user. The client calls it once at
   * start and again after the server rejects the current token. When the
   * server rejects the fresh token too, the client retries with backoff.
   */
  getToken(context: TokenRequestContext): Promise<string>;
  /** Receives structured logs. Default: none. */
  logger?: Logger;
  /** Default: `Date.now` and the global `setTimeout` / `clearTimeout`. */
  clock?: Clock;
  /** Uniform random numbers in [0, 1), for ids and backoff jitter. Default: `Math.random`. */
  random?: () => number;
  /**
   * Whether the network is available at start. Default true. Runtime packages
   * pass the platform's signal and then call `setNetworkAvailable()`.
   */
  online?: boolean;
  /**
   * Base of the exponential reconnect and resend backoff, in ms. Default 500:
   * a first retry within half a second hides a short blip from the user.
   */
  backoffBaseMs?: number;
  /**
   * Maximum backoff delay in ms. Default 30,000: long enough that a server
   * outage does not get a retry storm from every device, short enough that a
   * user coming back online waits at most half a minute (or calls `syncNow()`).
   */
  backoffCapMs?: number;
  /**
   * A stream that delivers no frame for this many heartbeat intervals is
   * treated as dead. Default 2.5: one late heartbeat is tolerated, two are not.
   */
  livenessFactor?: number;
  /**
   * Maximum wait for the first frame of a stream, in ms. Default 10,000. The
   * server sends a heartbeat at once, so silence means a proxy buffers the
   * response. After two such streams in a row the client long-polls instead.
   */
  firstFrameTimeoutMs?: number;
  /**
   * How long the client long-polls before it tries streaming again, in ms.
   * Default 300,000 (5 minutes): a buffering proxy rarely goes away sooner, and
   * one failed stream attempt every five minutes costs little.
   */
  streamRetryIntervalMs?: number;
  /**
   * Events or messages per GetHistory and long-poll Sync page. Default 100:
   * a screenful of history or a burst of live events in one short storage
   * transaction.
   */
  pageSize?: number;
  /**
   * Events per catch-up Sync page, lowered to the server's max_page_size.
   * Default 1,000: each page costs a round trip and a durable commit, so
   * 10,000 missed events take 10 of each instead of 100, while one page still
   * bounds the response and the transaction held in memory.
   */
  catchUpPageSize?: number;
  /**
   * wait_ms of a long-poll Sync, in ms. Default 25,000, below the 30 s idle
   * timeout common in proxies; lowered to the server's max_long_poll_ms.
   */
  longPollWaitMs?: number;
  /**
   * Deadline of one SendMessage attempt, in ms. Default 15,000. A timed-out
   * attempt is retried with the same client_message_id, so a late commit is
   * not duplicated.
   */
  sendTimeoutMs?: number;
  /** Deadline of other unary calls, in ms. Default 30,000. */
  requestTimeoutMs?: number;
  /**
   * Delay before the client acknowledges what it applied (cursor and delivered
   * marks), in ms. Default 1,000: a burst of events costs one Acknowledge.
   */
  receiptDebounceMs?: number;
}

/** The tuning options with their defaults applied. */
export interface Tuning {
  backoffBaseMs: number;
  backoffCapMs: number;
  livenessFactor: number;
  firstFrameTimeoutMs: number;
  streamRetryIntervalMs: number;
  pageSize: number;
  catchUpPageSize: number;
  longPollWaitMs: number;
  sendTimeoutMs: number;
  requestTimeoutMs: number;
  receiptDebounceMs: number;
}

export const defaultTuning: Readonly<Tuning> = Object.freeze({
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
  livenessFactor: 2.5,
  firstFrameTimeoutMs: 10_000,
  streamRetryIntervalMs: 300_000,
  pageSize: 100,
  catchUpPageSize: 1_000,
  longPollWaitMs: 25_000,
  sendTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
  receiptDebounceMs: 1_000,
});

/** Applies the defaults and rejects values that would stall or spin the client. */
export function resolveTuning(options: ChatClientOptions): Tuning {
  const tuning: Tuning = { ...defaultTuning };
  for (const key of Object.keys(defaultTuning) as (keyof Tuning)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`${key} is ${String(value)}; it must be a positive finite number (default ${defaultTuning[key]})`);
    }
    tuning[key] = value;
  }
  if (tuning.backoffCapMs < tuning.backoffBaseMs) {
    throw new RangeError(
      `backoffCapMs (${tuning.backoffCapMs}) is below backoffBaseMs (${tuning.backoffBaseMs}); raise the cap or lower the base`,
    );
  }
  for (const key of ["pageSize", "catchUpPageSize"] as const) {
    if (!Number.isInteger(tuning[key])) {
      throw new RangeError(`${key} is ${tuning[key]}; it must be a whole number`);
    }
  }
  return tuning;
}

/** The logger used when the host gives none. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/** The clock used when the host gives none: the standard timer functions every JavaScript runtime has. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, delayMs: number) => globalThis.setTimeout(callback, delayMs),
  clearTimeout: (handle: TimerHandle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
});
