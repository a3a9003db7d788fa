/**
 * Receipts: sends the server what this device applied (its cursor and
 * delivered marks) and what the user read (read marks), with Acknowledge.
 *
 * Marks are raised locally first and never go down: a lower mark is ignored
 * on both sides. Acknowledgements are batched: the first change starts a
 * `receiptDebounceMs` timer, and every change until it fires joins the same
 * call. A read mark shortens the wait to zero. A failed call keeps its marks
 * and retries with backoff.
 *
 * Durability: markRead() stores the read mark as a pending read mark in the
 * transaction that lowers the unread count. The first start() reads the
 * stored ones back, so a mark the server never acknowledged is sent after a
 * restart. An acknowledgement, or a rejection for good, deletes the stored
 * mark up to the seq that was sent.
 */
import { Code } from "@connectrpc/connect";
import { withTokenRefresh } from "../connection/auth.js";
import { backoffDelay } from "../connection/backoff.js";
import { callWithDeadline, linkedController } from "../connection/call.js";
import type { RetryingCallerContext } from "../connection/retrying-caller.js";
import { ChatError } from "../errors/chat-error.js";
import { classifyFailure } from "../errors/classify.js";
import type { TimerHandle } from "../options.js";
import type { PendingReadMark } from "../storage/types.js";
import { findMember } from "../sync/records.js";
import { recountUnread } from "../sync/unread.js";

/** Dependencies the receipts module gets from the client. */
export interface ReceiptsContext extends RetryingCallerContext {
  userId: string;
  deviceId(): string;
  onCommitted(conversationIds: readonly string[]): void;
}

/**
 * The marks of one conversation not yet acknowledged. The read mark is also
 * in storage. NOTE: the delivered mark is kept in memory only, so after a
 * process kill it reaches the server only with the conversation's next
 * message from another member, or with the next read mark.
 */
interface PendingMark {
  deliveredSeq: number;
  readSeq: number;
}

export class Receipts {
  readonly #context: ReceiptsContext;
  readonly #pending = new Map<string, PendingMark>();
  #cursorChanged = false;
  #lastAckedCursor: string | undefined;
  #timer: TimerHandle | undefined;
  #failures = 0;
  #inFlight: Promise<void> | undefined;
  #lifetime: AbortController | undefined;
  /** The read of the stored pending read marks into `#pending`. Unset before the first start() and after a failed read. */
  #restored: Promise<void> | undefined;

  constructor(context: ReceiptsContext) {
    this.#context = context;
  }

  start(): void {
    if (this.#lifetime !== undefined) return;
    this.#lifetime = new AbortController();
    this.#restored ??= this.#restorePendingReadMarks();
    if (this.#hasWork()) this.#schedule(0);
  }

  /** Stops sending and clears the timer; unsent marks are kept for the next start. */
  stop(): void {
    this.#lifetime?.abort(new ChatError(Code.Canceled, "receipts stopped"));
    this.#lifetime = undefined;
    if (this.#timer !== undefined) this.#context.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Records what a committed page applied: the cursor moved, and others' messages up to these seqs arrived. */
  noteApplied(delivered: ReadonlyMap<string, number>, cursorAdvanced: boolean): void {
    for (const [conversationId, seq] of delivered) this.#raise(conversationId, seq, 0);
    if (cursorAdvanced) this.#cursorChanged = true;
    if (this.#hasWork()) this.#schedule(this.#context.tuning.receiptDebounceMs);
  }

  /**
   * Marks a conversation read up to `seq` (default: its last seq): raises the
   * local read mark and sets the unread count at once, then sends the mark.
   */
  async markRead(conversationId: string, seq?: number): Promise<void> {
    const { storage, userId } = this.#context;
    if (seq !== undefined && (!Number.isSafeInteger(seq) || seq < 0)) {
      throw new ChatError(Code.InvalidArgument, `seq is ${seq}; it must be a whole number of at least 0`);
    }
    const readSeq = await storage.transaction("readwrite", async (tx) => {
      const conversation = await tx.getConversation(conversationId);
      if (conversation === undefined) {
        throw new ChatError(
          Code.NotFound,
          `conversation ${conversationId} is not stored on this device; wait for sync or call listConversations() first`,
        );
      }
      const target = seq ?? conversation.lastSeq;
      if (target > conversation.lastSeq) {
        throw new ChatError(
          Code.InvalidArgument,
          `seq ${target} is above the last seq ${conversation.lastSeq} of conversation ${conversationId}; pass a seq of a received message`,
        );
      }
      let self = findMember(conversation, userId);
      if (self === undefined) {
        self = { userId, deliveredSeq: 0, readSeq: 0, joinedAfterSeq: 0 };
        conversation.members.push(self);
      }
      self.readSeq = Math.max(self.readSeq, target);
      self.deliveredSeq = Math.max(self.deliveredSeq, self.readSeq);
      await recountUnread(tx, conversation, userId);
      await tx.putConversation(conversation);
      if (self.readSeq > 0) await tx.putPendingReadMark({ conversationId, readSeq: self.readSeq });
      return self.readSeq;
    });
    this.#context.onCommitted([conversationId]);
    if (readSeq > 0) {
      this.#raise(conversationId, readSeq, readSeq);
      this.#schedule(0);
    }
  }

  /** Sends everything pending now, once; used by a push wake-up before it stops. */
  async flushNow(): Promise<void> {
    if (this.#timer !== undefined) this.#context.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#restored;
    await this.#inFlight;
    if (this.#hasWork()) await this.#send();
  }

  async #restorePendingReadMarks(): Promise<void> {
    const { storage, logger } = this.#context;
    let marks: PendingReadMark[];
    try {
      marks = await storage.transaction("readonly", (tx) => tx.listPendingReadMarks());
    } catch (error) {
      this.#restored = undefined;
      logger.warn({ err: error }, "reading the pending read marks failed; they are read again at the next start");
      return;
    }
    if (marks.length === 0) return;
    for (const mark of marks) this.#raise(mark.conversationId, mark.readSeq, mark.readSeq);
    logger.info({ marks: marks.length }, "sending read marks stored before the last stop");
    this.#schedule(0);
  }

  /** Deletes stored pending read marks up to the seqs that were sent, once the server acknowledged or rejected them for good. */
  async #forgetReadMarks(marks: readonly PendingReadMark[]): Promise<void> {
    const settled = marks.filter((mark) => mark.readSeq > 0);
    if (settled.length === 0) return;
    try {
      await this.#context.storage.transaction("readwrite", async (tx) => {
        for (const mark of settled) await tx.deletePendingReadMark(mark.conversationId, mark.readSeq);
      });
    } catch (error) {
      // Sending a mark again is harmless, because the server keeps the maximum.
      this.#context.logger.warn(
        { err: error, conversationIds: settled.map((mark) => mark.conversationId) },
        "deleting acknowledged read marks from storage failed; they are sent again after the next start",
      );
    }
  }

  #raise(conversationId: string, deliveredSeq: number, readSeq: number): void {
    const mark = this.#pending.get(conversationId) ?? { deliveredSeq: 0, readSeq: 0 };
    mark.readSeq = Math.max(mark.readSeq, readSeq);
    mark.deliveredSeq = Math.max(mark.deliveredSeq, deliveredSeq, mark.readSeq);
    this.#pending.set(conversationId, mark);
  }

  #hasWork(): boolean {
    return this.#pending.size > 0 || this.#cursorChanged;
  }

  #schedule(delayMs: number): void {
    if (this.#lifetime === undefined) return;
    if (this.#timer !== undefined) {
      if (delayMs > 0) return;
      this.#context.clock.clearTimeout(this.#timer);
    }
    this.#timer = this.#context.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#send();
    }, delayMs);
  }

  #send(): Promise<void> {
    if (this.#inFlight !== undefined) return this.#inFlight;
    const run = this.#sendOnce().finally(() => {
      this.#inFlight = undefined;
      // Marks raised while the call was in flight go out in the next batch.
      if (this.#timer === undefined && this.#hasWork()) this.#schedule(this.#context.tuning.receiptDebounceMs);
    });
    this.#inFlight = run;
    return run;
  }

  async #sendOnce(): Promise<void> {
    const lifetime = this.#lifetime;
    if (lifetime === undefined) return;
    const { storage, chat, tokens, clock, tuning, logger } = this.#context;

    const marks = [...this.#pending].map(([conversationId, mark]) => ({ conversationId, ...mark }));
    this.#pending.clear();
    this.#cursorChanged = false;
    const { cursor, removed } = await storage.transaction("readonly", async (tx) => {
      const removedIds = new Set<string>();
      for (const mark of marks) {
        if ((await tx.getConversation(mark.conversationId))?.removed) removedIds.add(mark.conversationId);
      }
      return { cursor: (await tx.getMeta("cursor")) ?? "", removed: removedIds };
    });
    // The server rejects marks for conversations the user left; they would fail the whole call.
    const sendable = marks.filter((mark) => !removed.has(mark.conversationId));
    await this.#forgetReadMarks(marks.filter((mark) => removed.has(mark.conversationId)));
    const ackCursor = cursor !== this.#lastAckedCursor ? cursor : "";
    if (sendable.length === 0 && ackCursor === "") return;

    const { controller, dispose } = linkedController(lifetime.signal);
    try {
      await withTokenRefresh(tokens, () =>
        callWithDeadline(clock, controller.signal, tuning.requestTimeoutMs, "Acknowledge", (signal) =>
          chat.acknowledge(
            {
              deviceId: this.#context.deviceId(),
              cursor: ackCursor,
              marks: sendable.map((mark) => ({
                conversationId: mark.conversationId,
                deliveredSeq: BigInt(mark.deliveredSeq),
                readSeq: BigInt(mark.readSeq),
              })),
            },
            { signal },
          ),
        ),
      );
      if (ackCursor !== "") this.#lastAckedCursor = ackCursor;
      this.#failures = 0;
      logger.debug({ marks: sendable.length, cursor: ackCursor !== "" }, "acknowledged");
      await this.#forgetReadMarks(sendable);
    } catch (thrown) {
      const error = ChatError.from(thrown);
      const action = classifyFailure(error, lifetime.signal.aborted);
      // Put the marks back; newer ones raised meanwhile win because marks keep their maximum.
      for (const mark of sendable) this.#raise(mark.conversationId, mark.deliveredSeq, mark.readSeq);
      if (ackCursor !== "") this.#cursorChanged = true;
      switch (action.kind) {
        case "cancelled":
          return;
        case "park":
        case "resync":
          for (const mark of sendable) this.#pending.delete(mark.conversationId);
          logger.warn({ err: error, code: error.codeName }, "server rejected the receipt marks; they are dropped");
          await this.#forgetReadMarks(sendable);
          return;
        case "wait":
          this.#retryAfter(action.delayMs, error);
          return;
        case "backoff":
        case "refresh-token":
          this.#retryAfter(
            backoffDelay(this.#failures, { baseMs: tuning.backoffBaseMs, capMs: tuning.backoffCapMs }, this.#context.random),
            error,
          );
          return;
      }
    } finally {
      dispose();
    }
  }

  #retryAfter(delayMs: number, error: ChatError): void {
    this.#failures += 1;
    this.#context.logger.info({ delayMs, code: error.codeName, err: error }, "acknowledge failed; retrying after a delay");
    if (this.#timer !== undefined) this.#context.clock.clearTimeout(this.#timer);
    if (this.#lifetime === undefined) return;
    this.#timer = this.#context.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#send();
    }, delayMs);
  }
}
