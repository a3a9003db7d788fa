/**
 * App lifecycle and network signals, reconciled into what runs.
 *
 * The client is active (connection loop, outbox, receipts running) only when
 * it is started, not closed, in the foreground and online. In the background
 * nothing runs: no connection, no timer. A push wake-up runs one bounded
 * sync and outbox flush and then stops again.
 */
import { Code } from "@connectrpc/connect";
import { withTokenRefresh } from "../connection/auth.js";
import type { TokenSource } from "../connection/auth.js";
import type { ConnectionLoop } from "../connection/connection-loop.js";
import type { ConnectionStateHolder } from "../connection/state.js";
import { ChatError } from "../errors/chat-error.js";
import type { Clock, Logger } from "../options.js";
import type { Outbox } from "../outbox/outbox.js";
import type { Receipts } from "../receipts/receipts.js";
import type { SyncEngine } from "../sync/sync-engine.js";

/** The modules the lifecycle starts and stops. */
export interface LifecycleParts {
  loop: ConnectionLoop;
  outbox: Outbox;
  receipts: Receipts;
  engine: SyncEngine;
  state: ConnectionStateHolder;
  tokens: TokenSource;
  clock: Clock;
  logger: Logger;
}

export class Lifecycle {
  readonly #parts: LifecycleParts;
  #started = false;
  #closed = false;
  #online: boolean;
  #foreground = true;
  #wakes = 0;

  constructor(parts: LifecycleParts, online: boolean) {
    this.#parts = parts;
    this.#online = online;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the connection loop should run now. */
  get active(): boolean {
    return this.#started && !this.#closed && this.#foreground && this.#online;
  }

  /** Marks the storage as opened and starts whatever the signals allow. */
  markStarted(): void {
    this.#started = true;
    this.#apply();
  }

  setNetworkAvailable(online: boolean): void {
    if (this.#online === online) return;
    this.#online = online;
    this.#parts.logger.info({ online }, "network availability changed");
    this.#apply();
  }

  background(): void {
    if (!this.#foreground) return;
    this.#foreground = false;
    this.#parts.logger.info({}, "app moved to the background; closing the connection");
    this.#apply();
  }

  foreground(): void {
    if (this.#foreground) return;
    this.#foreground = true;
    this.#parts.logger.info({}, "app moved to the foreground; reconnecting");
    this.#apply();
  }

  /**
   * Syncs and flushes the outbox once, for a push wake-up. Resolves when both
   * are done or when `deadlineMs` has passed, whichever comes first. Calls
   * still running at the deadline are aborted, and their work resumes later.
   * In the background the client keeps no connection or timer afterwards.
   */
  async wake(deadlineMs: number): Promise<void> {
    if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) {
      throw new ChatError(Code.InvalidArgument, `deadlineMs is ${deadlineMs}; pass the time the platform allows, in ms (above 0)`);
    }
    if (!this.#started || this.#closed) {
      throw new ChatError(Code.FailedPrecondition, "wake() needs a started client; call start() first");
    }
    const { engine, outbox, receipts, tokens, clock, logger } = this.#parts;
    const controller = new AbortController();
    const timer = clock.setTimeout(
      () => controller.abort(new ChatError(Code.DeadlineExceeded, `wake-up deadline of ${deadlineMs} ms passed`)),
      deadlineMs,
    );
    const aborted = new Promise<void>((resolve) => controller.signal.addEventListener("abort", () => resolve(), { once: true }));
    this.#wakes += 1;
    outbox.start();
    receipts.start();
    logger.info({ deadlineMs }, "push wake-up: syncing and flushing the outbox");
    try {
      await withTokenRefresh(tokens, () => engine.catchUp(controller.signal));
      outbox.retryNow();
      await Promise.race([outbox.whenIdle(), aborted]);
      await Promise.race([receipts.flushNow(), aborted]);
      logger.info({}, "push wake-up finished");
    } catch (error) {
      logger.warn({ err: error, deadlineExceeded: controller.signal.aborted }, "push wake-up ended before it finished; the rest resumes later");
    } finally {
      clock.clearTimeout(timer);
      controller.abort();
      this.#wakes -= 1;
      this.#apply();
    }
  }

  /** Stops everything for good. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#parts.logger.info({}, "client closing");
    await this.#apply();
  }

  /** Starts or stops the modules to match the signals, and sets the connection state for the host. */
  #apply(): Promise<void> {
    const { loop, outbox, receipts, state } = this.#parts;
    if (!this.#started && !this.#closed) return Promise.resolve();
    if (this.active) {
      outbox.start();
      receipts.start();
      loop.start();
      return Promise.resolve();
    }
    const stopped = loop.stop();
    if (this.#wakes === 0 || this.#closed) {
      outbox.stop();
      receipts.stop();
    }
    if (this.#closed) state.set({ kind: "closed", reason: "closed" });
    else if (!this.#foreground) state.set({ kind: "suspended" });
    else state.set({ kind: "offline" });
    return stopped;
  }
}
