/**
 * The long-lived loop that keeps the client connected while it is active.
 *
 * ```
 *            ┌────────────────────────────── failure ─────────────────────────┐
 *            ▼                                                                │
 *  connecting ─► catch-up Sync pages ─► Subscribe ─first frame─► connected(stream)
 *            │                      └─(long-poll period)─► Sync wait_ms ─► connected(long-poll)
 *            └─ failure ─► waiting(backoff) ─► connecting
 * ```
 *
 * Failures go through classifyFailure: transient ones wait with exponential
 * backoff, an expired cursor rebuilds the synced state, a rejected token is
 * refreshed once per attempt (a second rejection waits out a backoff delay). Two streams in a row that send no first
 * frame (a buffering proxy) switch to long-polling for streamRetryIntervalMs.
 */
import { Code } from "@connectrpc/connect";
import type { TokenSource } from "./auth.js";
import { backoffDelay } from "./backoff.js";
import { sleep } from "./call.js";
import type { ConnectionStateHolder } from "./state.js";
import { ChatError } from "../errors/chat-error.js";
import { classifyFailure } from "../errors/classify.js";
import type { Clock, Logger, Tuning } from "../options.js";
import { isFirstFrameTimeout } from "../sync/sync-engine.js";
import type { SyncEngine } from "../sync/sync-engine.js";

/** Dependencies the loop gets from the client. */
export interface ConnectionLoopContext {
  engine: SyncEngine;
  state: ConnectionStateHolder;
  tokens: TokenSource;
  clock: Clock;
  random: () => number;
  tuning: Tuning;
  logger: Logger;
  /** Runs before each catch-up; a failure there is logged and does not stop the connection. */
  prepare(signal: AbortSignal): Promise<void>;
  /** Called after each successful catch-up, so that pending sends go out. */
  onReachable(): void;
}

/** Failures after which the loop stops treating a cursor reset as progress and backs off. */
const maxImmediateResyncs = 1;

export class ConnectionLoop {
  readonly #context: ConnectionLoopContext;
  #run: { controller: AbortController; done: Promise<void> } | undefined;
  #skipWait: AbortController | undefined;
  /** Time until which the loop long-polls instead of streaming (ms since the epoch). */
  #streamAfter = 0;

  constructor(context: ConnectionLoopContext) {
    this.#context = context;
  }

  get running(): boolean {
    return this.#run !== undefined;
  }

  /** Starts the loop unless it runs. */
  start(): void {
    if (this.#run !== undefined) return;
    const controller = new AbortController();
    const done = this.#loop(controller.signal).catch((error: unknown) => {
      this.#context.logger.error({ err: error }, "connection loop stopped by an unexpected error");
      this.#context.state.set({ kind: "closed", reason: `internal error: ${String(error)}` });
    });
    this.#run = { controller, done };
  }

  /** Stops the loop, aborting its calls; resolves when it has ended. */
  async stop(): Promise<void> {
    const run = this.#run;
    if (run === undefined) return;
    this.#run = undefined;
    run.controller.abort(new ChatError(Code.Canceled, "connection stopped by the client"));
    await run.done;
  }

  /** Ends a backoff wait now, so the next attempt starts at once. */
  retryNow(): void {
    this.#skipWait?.abort();
  }

  async #loop(signal: AbortSignal): Promise<void> {
    const { engine, state, tokens, clock, tuning, logger } = this.#context;
    let failures = 0;
    let refreshedToken = false;
    let firstFrameFailures = 0;
    let resyncs = 0;

    const markConnected = (via: "stream" | "long-poll") => {
      if (signal.aborted) return;
      failures = 0;
      refreshedToken = false;
      resyncs = 0;
      if (via === "stream") firstFrameFailures = 0;
      state.set({ kind: "connected", via });
    };

    while (!signal.aborted) {
      const current = state.current;
      if (current.kind !== "connected") state.set({ kind: "connecting", attempt: failures });
      let tokenGeneration = tokens.generation;
      try {
        await tokens.current();
        tokenGeneration = tokens.generation;
        await this.#context.prepare(signal);
        await engine.catchUp(signal);
        this.#context.onReachable();
        if (clock.now() < this.#streamAfter) {
          // The catch-up just succeeded, so the server is reachable; events now arrive with each poll.
          markConnected("long-poll");
          await engine.longPoll(signal, this.#streamAfter, () => markConnected("long-poll"));
          continue;
        }
        await engine.stream(signal, () => markConnected("stream"));
      } catch (thrown) {
        if (signal.aborted) return;
        const error = ChatError.from(thrown);
        const action = classifyFailure(error, signal.aborted);
        let delayMs: number | undefined;

        if (isFirstFrameTimeout(error)) {
          firstFrameFailures += 1;
          if (firstFrameFailures >= 2) {
            firstFrameFailures = 0;
            this.#streamAfter = clock.now() + tuning.streamRetryIntervalMs;
            logger.warn(
              { retryStreamInMs: tuning.streamRetryIntervalMs },
              "two event streams sent no first frame; long-polling Sync instead",
            );
            continue;
          }
        }

        switch (action.kind) {
          case "cancelled":
            return;
          case "resync":
            if (resyncs < maxImmediateResyncs) {
              resyncs += 1;
              await engine.resync(error.reasonName ?? error.codeName);
              continue;
            }
            // The cursor was rejected again right after a rebuild: the attempt after the backoff wait rebuilds again.
            resyncs = 0;
            break;
          case "refresh-token":
            if (!refreshedToken) {
              refreshedToken = true;
              try {
                await tokens.refresh(action.reason, tokenGeneration);
                continue;
              } catch (refreshError) {
                logger.warn({ err: refreshError }, "token refresh failed");
              }
            }
            break;
          case "wait":
            delayMs = action.delayMs;
            break;
          case "backoff":
          case "park":
            break;
        }

        delayMs ??= backoffDelay(failures, { baseMs: tuning.backoffBaseMs, capMs: tuning.backoffCapMs }, this.#context.random);
        failures += 1;
        const retryAt = clock.now() + delayMs;
        logger.info({ code: error.codeName, reason: error.reasonName, delayMs, attempt: failures, err: error }, "connection failed; retrying");
        state.set({ kind: "waiting", attempt: failures, retryAt, delayMs, reason: error.message });
        await this.#wait(delayMs, signal);
        // Each attempt may refresh a rejected token once: the host may have a valid one by now.
        refreshedToken = false;
      }
    }
  }

  /** Sleeps for `delayMs`; `retryNow()` ends the sleep early. Resolves on abort too (the loop then ends). */
  async #wait(delayMs: number, signal: AbortSignal): Promise<void> {
    const skip = new AbortController();
    this.#skipWait = skip;
    const onAbort = () => skip.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await sleep(this.#context.clock, delayMs, skip.signal);
    } catch {
      // Skipped by retryNow() or stopped: either way the loop decides next.
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (this.#skipWait === skip) this.#skipWait = undefined;
    }
  }
}
