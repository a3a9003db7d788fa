import { Code } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import type { ChatService, ConversationService, Event, SyncResponse } from "@chatwire/gen";
import { callWithDeadline, linkedController, sleep } from "../connection/call.js";
import { ChatError } from "../errors/chat-error.js";
import type { Clock, Logger, TimerHandle, Tuning } from "../options.js";
import type { ServerInfoCache } from "../server-info.js";
import type { ChatStorage } from "../storage/types.js";
import { applyEventPage } from "./apply-events.js";
import { discardPrefetch, startPrefetch } from "./prefetch.js";
import type { Prefetch } from "./prefetch.js";
import { StateRebuild } from "./rebuild.js";
import type { AppliedPage } from "./apply-events.js";

/** Dependencies the sync engine gets from the client. */
export interface SyncContext {
  storage: ChatStorage;
  chat: Client<typeof ChatService>;
  conversations: Client<typeof ConversationService>;
  serverInfo: ServerInfoCache;
  clock: Clock;
  tuning: Tuning;
  logger: Logger;
  userId: string;
  deviceId(): string;
  /** Called after each committed page, before the next one is requested. */
  onApplied(page: AppliedPage): void;
  /** Called after the synced state was discarded for a rebuild. */
  onResync(reason: string): void;
}

/** Heartbeat interval assumed until the server names one, in ms. */
const defaultHeartbeatIntervalMs = 30_000;

/** Consecutive gaps that `catchUp` re-syncs at once before it reports a failure. */
const maxImmediateGapRetries = 3;

/** Errors thrown because a stream sent nothing in time after opening. */
const firstFrameTimeouts = new WeakSet<ChatError>();

/** Tells whether `error` reports a stream that sent no first frame in time (a buffering proxy). */
export function isFirstFrameTimeout(error: ChatError): boolean {
  return firstFrameTimeouts.has(error);
}

/**
 * Moves the user's event log into storage: paged differential `Sync`, the
 * `Subscribe` stream with its liveness check, and long-polling `Sync`.
 * Every page or batch is applied together with its cursor in one
 * transaction; applying checks continuity (see applyEventPage).
 */
export class SyncEngine {
  readonly #context: SyncContext;
  readonly #rebuild: StateRebuild;

  constructor(context: SyncContext) {
    this.#context = context;
    this.#rebuild = new StateRebuild({
      ...context,
      historyPageSize: () => this.#pageSize(false),
      sync: (signal, cursor) => this.#syncPage(signal, 0, this.#pageSize(true), cursor),
      syncFromEnd: (signal) => this.#syncPage(signal, 0, this.#pageSize(true), "", true),
    });
  }

  /**
   * Pages through Sync from the stored cursor until the server has nothing
   * more, after finishing a rebuild of the synced state that is due (see
   * rebuild.ts). Storage without a cursor is rebuilt too when the server's
   * log no longer starts at position 1. Pages are applied one at a time, in order, each with its cursor in
   * one transaction. The request for the next page goes out before a page is
   * applied (see #applyNextPage).
   */
  async catchUp(signal: AbortSignal): Promise<void> {
    const { logger } = this.#context;
    let gaps = 0;
    let pages = 0;
    let events = 0;
    let ahead: Prefetch | undefined;
    const first = await this.#rebuild.resume(signal);
    if (first !== undefined) {
      // The first page of a complete log, read to decide against a rebuild: apply it as if prefetched.
      ahead = { requestCursor: "", controller: new AbortController(), response: Promise.resolve(first) };
    }
    try {
      for (;;) {
        const step = await this.#applyNextPage(ahead, signal);
        const { response, page } = step;
        ahead = step.ahead;
        if (page.gap !== undefined) {
          discardPrefetch(ahead);
          ahead = undefined;
          gaps += 1;
          this.#logGap(page.gap);
          if (gaps > maxImmediateGapRetries) throw gapError(page.gap);
          continue;
        }
        gaps = 0;
        pages += 1;
        events += response.events.length;
        if (response.hasMore) {
          logger.debug({ pages, events, position: page.position }, "catching up");
          continue;
        }
        if (pages > 1) logger.info({ pages, events, position: page.position }, "caught up");
        return;
      }
    } finally {
      discardPrefetch(ahead);
    }
  }

  /**
   * Long-polls Sync until `until` (ms since the epoch) or until a call fails.
   * `onPolled` runs after each successful call.
   */
  async longPoll(signal: AbortSignal, until: number, onPolled: () => void): Promise<void> {
    const { clock, tuning, serverInfo } = this.#context;
    while (!signal.aborted && clock.now() < until) {
      const waitMs = Math.min(tuning.longPollWaitMs, serverInfo.limits?.maxLongPollMs || Number.POSITIVE_INFINITY);
      const started = clock.now();
      const response = await this.#syncPage(signal, waitMs, this.#pageSize(false));
      const page = await this.#apply(response.events, response.nextCursor);
      if (page.gap !== undefined) throw gapError(page.gap);
      onPolled();
      // A server that returns an empty long-poll at once would turn this loop into a busy loop.
      if (!response.hasMore && response.events.length === 0 && clock.now() - started < waitMs / 2) {
        await sleep(clock, Math.min(waitMs, tuning.backoffCapMs), signal);
      }
    }
  }

  /**
   * Streams events with Subscribe from the stored cursor until the stream
   * fails. `onFrame` runs after each frame is handled. The stream is aborted
   * with deadline_exceeded when no frame arrives within firstFrameTimeoutMs
   * of opening. It is also aborted when, after that, no frame arrives within
   * livenessFactor heartbeat intervals, because the connection is then
   * silently dead.
   */
  async stream(signal: AbortSignal, onFrame: () => void): Promise<never> {
    const { storage, chat, clock, tuning, serverInfo, logger } = this.#context;
    const cursor = (await storage.transaction("readonly", (tx) => tx.getMeta("cursor"))) ?? "";
    const { controller, dispose } = linkedController(signal);
    let heartbeatIntervalMs = serverInfo.limits?.heartbeatIntervalMs || defaultHeartbeatIntervalMs;
    let sawFrame = false;
    let timeout: "first-frame" | "liveness" | undefined;
    let timer: TimerHandle | undefined;
    const disarm = () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    };
    const arm = (delayMs: number) => {
      disarm();
      timer = clock.setTimeout(() => {
        timeout = sawFrame ? "liveness" : "first-frame";
        controller.abort(new ChatError(Code.DeadlineExceeded, `event stream silent for ${delayMs} ms`));
      }, delayMs);
    };

    arm(tuning.firstFrameTimeoutMs);
    try {
      const frames = chat.subscribe({ cursor, deviceId: this.#context.deviceId() }, { signal: controller.signal });
      for await (const frame of frames) {
        sawFrame = true;
        disarm();
        if (frame.kind.case === "heartbeat") {
          heartbeatIntervalMs = frame.kind.value.intervalMs || heartbeatIntervalMs;
        } else if (frame.kind.case === "batch") {
          const page = await this.#apply(frame.kind.value.events, frame.kind.value.cursor);
          if (page.gap !== undefined) {
            this.#logGap(page.gap);
            throw gapError(page.gap);
          }
        }
        onFrame();
        arm(Math.ceil(tuning.livenessFactor * heartbeatIntervalMs));
      }
      throw new ChatError(Code.Unavailable, "event stream ended by the server; reconnecting");
    } catch (thrown) {
      if (timeout === "first-frame" && !signal.aborted) {
        const error = new ChatError(
          Code.DeadlineExceeded,
          `event stream sent no frame within ${tuning.firstFrameTimeoutMs} ms of opening; a proxy may be buffering the response`,
          { cause: thrown },
        );
        firstFrameTimeouts.add(error);
        throw error;
      }
      if (timeout === "liveness" && !signal.aborted) {
        const limitMs = Math.ceil(tuning.livenessFactor * heartbeatIntervalMs);
        logger.warn({ limitMs, heartbeatIntervalMs }, "event stream went silent; reconnecting");
        throw new ChatError(
          Code.DeadlineExceeded,
          `event stream sent no frame for ${limitMs} ms (${tuning.livenessFactor} heartbeat intervals of ${heartbeatIntervalMs} ms); reconnecting`,
          { cause: thrown },
        );
      }
      throw thrown;
    } finally {
      disarm();
      dispose();
    }
  }

  /**
   * Discards conversations, messages and the cursor (keeping the outbox and
   * the pending read marks) and marks storage for a rebuild from the server's
   * current state, which the next `catchUp` runs.
   */
  resync(reason: string): Promise<void> {
    return this.#rebuild.start(reason);
  }

  /**
   * Applies the next catch-up page and returns it with the prefetch of the
   * page after it (undefined when the server has no more).
   *
   * The page is `prefetched` when that request succeeded and the stored
   * cursor is still the one it was requested from. Otherwise (the prefetch
   * failed, or a resync or another sync moved the cursor) it is discarded and
   * the page is requested from the stored cursor, as without prefetching.
   * Prefetching lets the server read the next page while the client writes
   * this one, instead of the two taking turns.
   *
   * NOTE: a Sync with a cursor also records that cursor as the device's
   * acknowledged point, so the server learns the prefetch's cursor just
   * before the page that ends there commits. The reference server prunes
   * events by age only. A server that pruned by acknowledged cursors could
   * return cursor_expired after a crash in that moment, and the client then
   * rebuilds its state (no silent gap).
   */
  async #applyNextPage(
    prefetched: Prefetch | undefined,
    signal: AbortSignal,
  ): Promise<{ response: SyncResponse; page: AppliedPage; ahead: Prefetch | undefined }> {
    if (prefetched !== undefined) {
      const response = await prefetched.response;
      if (response !== undefined) {
        const ahead = this.#prefetchAfter(response, signal);
        const page = await this.#applyOrDiscard(
          () => this.#applyFrom(prefetched.requestCursor, response.events, response.nextCursor),
          ahead,
        );
        if (page !== undefined) return { response, page, ahead };
        discardPrefetch(ahead);
        this.#context.logger.debug(
          { requestCursor: prefetched.requestCursor },
          "stored cursor moved during a prefetch; requesting the page again",
        );
      }
    }
    const response = await this.#syncPage(signal, 0, this.#pageSize(true));
    const ahead = this.#prefetchAfter(response, signal);
    const page = await this.#applyOrDiscard(() => this.#apply(response.events, response.nextCursor), ahead);
    return { response, page, ahead };
  }

  /** Runs `apply`; when it throws, aborts the prefetch that was started for the page after. */
  async #applyOrDiscard<T>(apply: () => Promise<T>, ahead: Prefetch | undefined): Promise<T> {
    try {
      return await apply();
    } catch (error) {
      discardPrefetch(ahead);
      throw error;
    }
  }

  /** Requests the page after `response` unless it was the last one. */
  #prefetchAfter(response: SyncResponse, signal: AbortSignal): Prefetch | undefined {
    if (!response.hasMore || response.events.length === 0) return undefined;
    return startPrefetch(response.nextCursor, signal, this.#context.logger, (callSignal, cursor) =>
      this.#syncPage(callSignal, 0, this.#pageSize(true), cursor),
    );
  }

  /** Applies a page in one transaction and reports it; a page with a gap changes nothing. */
  async #apply(events: readonly Event[], cursor: string): Promise<AppliedPage> {
    const { storage, userId } = this.#context;
    const page = await storage.transaction("readwrite", (tx) => applyEventPage(tx, events, cursor, userId));
    if (page.gap === undefined) this.#context.onApplied(page);
    return page;
  }

  /**
   * Applies a page like #apply, but only when the stored cursor is still
   * `requestCursor`, the cursor the page was requested from. Returns
   * undefined, writing nothing, when it is not.
   */
  async #applyFrom(requestCursor: string, events: readonly Event[], cursor: string): Promise<AppliedPage | undefined> {
    const { storage, userId } = this.#context;
    const page = await storage.transaction("readwrite", async (tx) => {
      if (((await tx.getMeta("cursor")) ?? "") !== requestCursor) return undefined;
      return applyEventPage(tx, events, cursor, userId);
    });
    if (page !== undefined && page.gap === undefined) this.#context.onApplied(page);
    return page;
  }

  /**
   * Returns the events per page: catchUpPageSize while catching up, pageSize
   * otherwise, each lowered to the server's max_page_size.
   */
  #pageSize(catchUp: boolean): number {
    const { tuning, serverInfo } = this.#context;
    const requested = catchUp ? tuning.catchUpPageSize : tuning.pageSize;
    const serverMax = serverInfo.limits?.maxPageSize ?? 0;
    return serverMax > 0 ? Math.min(requested, serverMax) : requested;
  }

  /**
   * Calls Sync from `cursor`, or from the stored cursor when `cursor` is
   * undefined. With `fromEnd` it requests the cursor at the end of the log.
   */
  async #syncPage(signal: AbortSignal, waitMs: number, limit: number, cursor?: string, fromEnd = false): Promise<SyncResponse> {
    const { storage, chat, clock, tuning } = this.#context;
    const from = cursor ?? (await storage.transaction("readonly", (tx) => tx.getMeta("cursor"))) ?? "";
    return callWithDeadline(clock, signal, tuning.requestTimeoutMs + waitMs, "Sync", (callSignal) =>
      chat.sync({ cursor: from, deviceId: this.#context.deviceId(), limit, waitMs, fromEnd }, { signal: callSignal }),
    );
  }

  #logGap(gap: { expectedPosition: number; receivedPosition: number }): void {
    this.#context.logger.warn(gap, "event log gap; syncing again from the stored cursor");
  }
}

/** Returns the error for a gap in the event log. It is retryable: the next attempt syncs from the stored cursor. */
function gapError(gap: { expectedPosition: number; receivedPosition: number }): ChatError {
  return new ChatError(
    Code.Aborted,
    `event log gap: expected position ${gap.expectedPosition}, received ${gap.receivedPosition}; syncing again from the stored cursor`,
  );
}
