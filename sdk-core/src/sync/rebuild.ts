/**
 * Rebuilding the synced state after the server rejected the sync cursor:
 * out_of_range CURSOR_EXPIRED (retention deleted the events after it) or
 * invalid_argument CURSOR_INVALID. Storage without a cursor (a new device)
 * is built the same way when the server's log no longer starts at position 1,
 * for the same reason. Syncing from the empty cursor alone would
 * leave a silent hole, because the log no longer has the deleted events: a
 * conversation without later events would vanish, and one with later events
 * would show only those. So the client rebuilds from the state the server
 * still has, in five steps:
 *
 * 1. discard: one transaction deletes conversations, messages, cursor and
 *    position and sets the "rebuild" meta marker. The outbox and the pending
 *    read marks stay.
 * 2. cursor: Sync(from_end) returns the cursor at the end of the log. From a
 *    server without from_end, Sync pages from the empty cursor to the end of
 *    the log, applying nothing. The cursor is taken before the reads of steps
 *    3 and 4, so every event committed while they run comes after it.
 * 3. list: every ListConversations page, each stored in one transaction,
 *    with the server's unread counts.
 * 4. history: the newest GetHistory page of each listed conversation, one
 *    transaction each. A conversation's stored messages are then a contiguous
 *    range that ends at its last seq; loadOlder() fetches the older ones.
 * 5. finish: one transaction stores the cursor and deletes the marker.
 *
 * Sync then goes on from the cursor of step 2. The events the snapshot of
 * steps 3 and 4 already shows apply again without effect: a message whose
 * seq is stored is neither counted nor announced again, and marks keep
 * their maximum.
 *
 * Resuming: a failed call ends the run, and the next catch-up goes on with
 * the step that failed (the progress is kept in memory). A process that
 * stops before step 5 leaves the marker and an empty cursor, so its state
 * never looks complete. The next process starts over at step 1, because a
 * history page stored before the stop may not join the newest page now.
 */
import type { Client } from "@connectrpc/connect";
import type { ChatService, ConversationService, SyncResponse } from "@chatwire/gen";
import { callWithDeadline } from "../connection/call.js";
import type { Clock, Logger, Tuning } from "../options.js";
import type { ChatStorage } from "../storage/types.js";
import type { AppliedPage } from "./apply-events.js";
import { finishRebuild, storeConversationList, storeNewestHistory, takeEndCursor } from "./rebuild-steps.js";
import type { RebuildCursor, RebuildStepContext } from "./rebuild-steps.js";

/**
 * The rebuild reason stored for storage without a cursor whose server log
 * lost its start to retention. A sync from the empty cursor would return
 * only the events that retention kept, so such storage is built like one
 * after an expired cursor.
 */
const firstSyncReason = "FIRST_SYNC";

/** Dependencies a rebuild gets from the sync engine. */
export interface RebuildContext {
  storage: ChatStorage;
  chat: Client<typeof ChatService>;
  conversations: Client<typeof ConversationService>;
  clock: Clock;
  tuning: Tuning;
  logger: Logger;
  userId: string;
  /** Messages per GetHistory page: the client's page size, lowered to the server's max_page_size. */
  historyPageSize(): number;
  /** Calls Sync for the catch-up page after `cursor`. */
  sync(signal: AbortSignal, cursor: string): Promise<SyncResponse>;
  /** Calls Sync with from_end set, for the cursor at the end of the log. */
  syncFromEnd(signal: AbortSignal): Promise<SyncResponse>;
  onApplied(page: AppliedPage): void;
  /** Called after the synced state was discarded for a rebuild. */
  onResync(reason: string): void;
}

/** How far the rebuild of this process got. */
interface RebuildProgress {
  cursor?: RebuildCursor;
  /** Listed conversations still without their history page, in list order, with the last seq their unread count covers. */
  pending?: Map<string, number>;
}

/** Runs rebuilds one at a time and resumes them after a failure or a restart. */
export class StateRebuild {
  readonly #context: RebuildContext;
  /** Undefined when no rebuild was started by this process or the last one finished. */
  #progress: RebuildProgress | undefined;
  /** The last queued operation; each starts after the one before it settled. */
  #tail: Promise<void> = Promise.resolve();

  constructor(context: RebuildContext) {
    this.#context = context;
  }

  /** Discards the synced state and marks storage for a rebuild, which the next `resume()` runs. */
  start(reason: string): Promise<void> {
    return this.#exclusive(async () => {
      await this.#discard(reason);
      this.#context.logger.warn({ reason }, "sync cursor rejected; local state discarded, rebuilding it from the server");
      this.#context.onResync(reason);
    });
  }

  /**
   * Runs or resumes the rebuild when storage is marked for one. Storage
   * without a cursor (a first sync) reads the first Sync page from the empty
   * cursor: when it starts at position 1 the log is complete, and that page is
   * returned for the caller to apply. Otherwise retention deleted the log's
   * start, or the log is empty, and the state is rebuilt. Resolves to
   * undefined in every other case.
   */
  resume(signal: AbortSignal): Promise<SyncResponse | undefined> {
    return this.#exclusive(async () => {
      const { reason, cursor } = await this.#context.storage.transaction("readonly", async (tx) => ({
        reason: await tx.getMeta("rebuild"),
        cursor: await tx.getMeta("cursor"),
      }));
      if (reason !== undefined) {
        await this.#run(reason, signal);
        return undefined;
      }
      if (cursor !== undefined) return undefined;

      const first = await this.#context.sync(signal, "");
      const firstPosition = first.events[0]?.position;
      if (firstPosition === 1n) return first;
      await this.#discard(firstSyncReason);
      this.#context.logger.info(
        { firstPosition: firstPosition === undefined ? undefined : Number(firstPosition) },
        "no sync cursor stored and the server's event log does not start at position 1; loading every conversation from the server",
      );
      await this.#run(firstSyncReason, signal);
      return undefined;
    });
  }

  async #run(reason: string, signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.#context;
    if (this.#progress === undefined) {
      await this.#discard(reason);
      logger.warn({ reason }, "a rebuild of the synced state did not finish before the last stop; starting it over");
      this.#context.onResync(reason);
    }
    const progress = this.#progress!;
    const steps = this.#steps(signal);
    const started = clock.now();

    progress.cursor ??= await takeEndCursor(steps);
    progress.pending ??= await storeConversationList(steps);
    const conversations = progress.pending.size;
    for (const [conversationId, listedLastSeq] of [...progress.pending]) {
      await storeNewestHistory(steps, conversationId, listedLastSeq);
      progress.pending.delete(conversationId);
    }
    await finishRebuild(steps, progress.cursor);
    this.#progress = undefined;
    logger.info({ reason, conversations, ms: clock.now() - started }, "synced state rebuilt from the server");
  }

  async #discard(reason: string): Promise<void> {
    await this.#context.storage.transaction("readwrite", async (tx) => {
      await tx.clearSyncedState();
      await tx.setMeta("rebuild", reason);
    });
    this.#progress = {};
  }

  #steps(signal: AbortSignal): RebuildStepContext {
    const { storage, chat, conversations, clock, tuning, logger, userId } = this.#context;
    return {
      storage,
      chat,
      conversations,
      logger,
      userId,
      historyPageSize: this.#context.historyPageSize(),
      sync: (cursor) => this.#context.sync(signal, cursor),
      syncFromEnd: () => this.#context.syncFromEnd(signal),
      call: (what, run) => callWithDeadline(clock, signal, tuning.requestTimeoutMs, what, run),
      onApplied: (page) => this.#context.onApplied(page),
    };
  }

  #exclusive<T>(run: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(run);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
