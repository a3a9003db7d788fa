/**
 * The outbox: messages accepted by `send()` that the server has not
 * acknowledged yet, kept in storage in the order they were sent.
 *
 * Vocabulary:
 * - pending: the entry is stored (state "queued") and waits for its turn.
 *   Its durability point is the commit of the transaction that adds it, and
 *   `send()` resolves only after that commit: from then on a crash loses nothing.
 * - sending: the one entry of its conversation whose SendMessage call is in
 *   flight. Held in memory only: after a crash it is pending again and is
 *   sent again with the same client_message_id, which the server deduplicates.
 * - sent: the server committed the message and returned its seq. The entry is
 *   deleted, in the same transaction that stores the confirmed message.
 * - failed (parked): the server rejected the entry for good (too large, not a
 *   member, ...). It stays, with the reason, until the host calls `retry()`
 *   or `discard()`, and the rest of its conversation's queue goes on.
 *
 * Order: within a conversation one entry is in flight at a time, so the
 * server assigns seqs in `send()` order; conversations send concurrently. A
 * transient failure holds only its conversation's queue, for a backoff delay.
 */
import { Code } from "@connectrpc/connect";
import { withTokenRefresh } from "../connection/auth.js";
import { backoffDelay } from "../connection/backoff.js";
import { callWithDeadline, linkedController } from "../connection/call.js";
import type { RetryingCallerContext } from "../connection/retrying-caller.js";
import { ChatError } from "../errors/chat-error.js";
import { classifyFailure } from "../errors/classify.js";
import type { ChatEvent } from "../events.js";
import type { TimerHandle } from "../options.js";
import type { OutboxEntry } from "../storage/types.js";
import { toMessageRecord } from "../sync/records.js";
import { commitSentMessage } from "./commit-sent.js";

/** Dependencies the outbox gets from the client. */
export interface OutboxContext extends RetryingCallerContext {
  deviceId(): string;
  /** Called after each commit that changed the outbox or stored a message. */
  onCommitted(conversationIds: readonly string[], events: readonly ChatEvent[]): void;
}

type AttemptOutcome = "sent" | "parked" | "gone" | "held" | "stopped";

export class Outbox {
  readonly #context: OutboxContext;
  /** Conversations with a running drain loop. */
  readonly #running = new Map<string, Promise<void>>();
  /** Conversations whose queue waits out a delay after a transient failure, with the timer that ends it. */
  readonly #holds = new Map<string, TimerHandle>();
  /** Consecutive transient failures per conversation, which size the next delay. */
  readonly #failures = new Map<string, number>();
  readonly #sending = new Set<string>();
  /** Conversations kicked while their loop was running. */
  readonly #rerun = new Set<string>();
  #lifetime: AbortController | undefined;
  #idleWaiters: (() => void)[] = [];

  constructor(context: OutboxContext) {
    this.#context = context;
  }

  /** The clientMessageIds whose SendMessage call is in flight. */
  get sending(): ReadonlySet<string> {
    return this.#sending;
  }

  /** Starts sending pending entries. */
  start(): void {
    if (this.#lifetime !== undefined) return;
    this.#lifetime = new AbortController();
    this.kick();
  }

  /** Stops sending: aborts calls in flight (their entries stay pending) and clears every timer. */
  stop(): void {
    this.#lifetime?.abort(new ChatError(Code.Canceled, "outbox stopped"));
    this.#lifetime = undefined;
    for (const timer of this.#holds.values()) this.#context.clock.clearTimeout(timer);
    this.#holds.clear();
  }

  /**
   * Stores a new entry; resolves after the commit (the durability point).
   * Rejects for a conversation the user was removed from, which the server
   * would reject anyway.
   */
  async add(entry: OutboxEntry): Promise<void> {
    await this.#context.storage.transaction("readwrite", async (tx) => {
      if ((await tx.getConversation(entry.conversationId))?.removed) {
        throw new ChatError(
          Code.FailedPrecondition,
          `the user was removed from conversation ${entry.conversationId}; messages can no longer be sent to it`,
        );
      }
      await tx.addOutbox(entry);
    });
    this.#context.onCommitted([entry.conversationId], []);
    this.kick(entry.conversationId);
  }

  /** Ends every backoff wait and sends at once (the connection is back). */
  retryNow(): void {
    for (const conversationId of [...this.#holds.keys()]) this.#release(conversationId);
    this.#failures.clear();
    this.kick();
  }

  /**
   * Queues a failed entry again, with the same clientMessageId. For a pending
   * entry it ends its conversation's backoff wait instead.
   */
  async retry(clientMessageId: string): Promise<void> {
    const entry = await this.#context.storage.transaction("readwrite", async (tx) => {
      const stored = await tx.getOutbox(clientMessageId);
      if (stored === undefined) throw notInOutbox(clientMessageId);
      if (stored.state === "failed") {
        const queued: OutboxEntry = { ...stored, state: "queued" };
        delete queued.failure;
        await tx.updateOutbox(queued);
      }
      return stored;
    });
    this.#context.logger.info({ clientMessageId, conversationId: entry.conversationId }, "outbox entry retried by the host");
    this.#release(entry.conversationId);
    this.#context.onCommitted([entry.conversationId], []);
    this.kick(entry.conversationId);
  }

  /**
   * Removes an entry. If its SendMessage call is in flight the server may
   * still commit it; the message then arrives through sync like any other.
   */
  async discard(clientMessageId: string): Promise<void> {
    const entry = await this.#context.storage.transaction("readwrite", async (tx) => {
      const stored = await tx.getOutbox(clientMessageId);
      if (stored === undefined) throw notInOutbox(clientMessageId);
      await tx.deleteOutbox(clientMessageId);
      return stored;
    });
    this.#context.logger.info({ clientMessageId, conversationId: entry.conversationId }, "outbox entry discarded by the host");
    this.#context.onCommitted([entry.conversationId], []);
  }

  /** Starts a drain loop for each conversation (or the given one) with pending entries and no wait. */
  kick(conversationId?: string): void {
    if (this.#lifetime === undefined) return;
    const lifetime = this.#lifetime;
    void this.#context.storage
      .transaction("readonly", (tx) => tx.listOutbox(conversationId))
      .then((entries) => {
        if (this.#lifetime !== lifetime) return;
        const ready = new Set(entries.filter((entry) => entry.state === "queued").map((entry) => entry.conversationId));
        for (const id of ready) this.#drain(id, lifetime.signal);
        this.#notifyIfIdle();
      })
      .catch((error: unknown) => this.#context.logger.error({ err: error }, "reading the outbox failed"));
  }

  /** Resolves when no conversation is sending (every pending entry is sent, failed or waiting out a backoff). */
  whenIdle(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #drain(conversationId: string, signal: AbortSignal): void {
    if (this.#holds.has(conversationId)) return;
    if (this.#running.has(conversationId)) {
      // The running loop may have read the queue before the newest entry was committed: look again when it ends.
      this.#rerun.add(conversationId);
      return;
    }
    const run = this.#drainLoop(conversationId, signal)
      .catch((error: unknown) => {
        this.#context.logger.error({ err: error, conversationId }, "outbox drain failed; it resumes on the next kick");
      })
      .finally(() => {
        this.#running.delete(conversationId);
        const lifetime = this.#lifetime;
        if (lifetime !== undefined && (this.#rerun.delete(conversationId) || lifetime.signal !== signal)) {
          this.#drain(conversationId, lifetime.signal);
        }
        this.#notifyIfIdle();
      });
    this.#running.set(conversationId, run);
  }

  /**
   * Sends the conversation's queued entries in outbox order. Each pass reads
   * the queue once, so flushing n entries reads O(n) rows rather than O(n^2).
   * `#attempt` re-reads every entry in its own transaction, so one discarded
   * or parked since the read is skipped; entries added meanwhile go out in
   * the next pass.
   */
  async #drainLoop(conversationId: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const entries = await this.#context.storage.transaction("readonly", (tx) => tx.listOutbox(conversationId));
      const queued = entries.filter((entry) => entry.state === "queued");
      if (queued.length === 0) return;

      for (const next of queued) {
        if (signal.aborted) return;
        const outcome = await this.#attempt(next, signal);
        if (outcome === "held" || outcome === "stopped") return;
      }
    }
  }

  async #attempt(entry: OutboxEntry, lifetime: AbortSignal): Promise<AttemptOutcome> {
    const { storage, chat, tokens, clock, tuning, logger } = this.#context;
    const counted = await storage.transaction("readwrite", async (tx) => {
      const stored = await tx.getOutbox(entry.clientMessageId);
      if (stored === undefined || stored.state !== "queued") return undefined;
      const next = { ...stored, attempts: stored.attempts + 1 };
      await tx.updateOutbox(next);
      return next;
    });
    if (counted === undefined) return "gone";

    const { controller, dispose } = linkedController(lifetime);
    this.#sending.add(entry.clientMessageId);
    const fields = { conversationId: entry.conversationId, clientMessageId: entry.clientMessageId, attempt: counted.attempts };
    try {
      const response = await withTokenRefresh(tokens, () =>
        callWithDeadline(clock, controller.signal, tuning.sendTimeoutMs, "SendMessage", (signal) =>
          chat.sendMessage(
            {
              conversationId: entry.conversationId,
              clientMessageId: entry.clientMessageId,
              text: entry.text,
              deviceId: this.#context.deviceId(),
            },
            { signal },
          ),
        ),
      );
      if (response.message === undefined) {
        throw new ChatError(Code.Internal, "SendMessage response has no message; retrying with the same client_message_id");
      }
      const message = toMessageRecord(response.message);
      const stored = await commitSentMessage(storage, message);
      this.#failures.delete(entry.conversationId);
      logger.debug({ ...fields, seq: message.seq, replayed: response.replayed }, "message sent");
      this.#context.onCommitted([entry.conversationId], stored ? [{ type: "message", message, own: true }] : []);
      return "sent";
    } catch (thrown) {
      const error = ChatError.from(thrown);
      const action = classifyFailure(error, lifetime.aborted);
      switch (action.kind) {
        case "cancelled":
          return "stopped";
        case "park":
        case "resync":
          return (await this.#park(entry, error)) ? "parked" : "gone";
        case "wait":
          this.#hold(entry.conversationId, action.delayMs, error);
          return "held";
        case "backoff":
        case "refresh-token":
          // refresh-token here means the fresh token was rejected too: withTokenRefresh already asked once.
          this.#hold(entry.conversationId, undefined, error);
          return "held";
      }
    } finally {
      this.#sending.delete(entry.clientMessageId);
      dispose();
    }
  }

  async #park(entry: OutboxEntry, error: ChatError): Promise<boolean> {
    const failure = { code: error.codeName, message: error.message, ...(error.reasonName ? { reason: error.reasonName } : {}) };
    const parked = await this.#context.storage.transaction("readwrite", async (tx) => {
      const stored = await tx.getOutbox(entry.clientMessageId);
      if (stored === undefined) return undefined;
      const failed: OutboxEntry = { ...stored, state: "failed", failure };
      await tx.updateOutbox(failed);
      return failed;
    });
    if (parked === undefined) return false;
    this.#context.logger.warn(
      { conversationId: entry.conversationId, clientMessageId: entry.clientMessageId, code: failure.code, reason: failure.reason },
      "server rejected a message; it is parked as failed until retry() or discard()",
    );
    this.#context.onCommitted([entry.conversationId], [{ type: "outbox-failed", entry: parked }]);
    return true;
  }

  #hold(conversationId: string, delayMs: number | undefined, error: ChatError): void {
    const { clock, tuning, random, logger } = this.#context;
    const failures = this.#failures.get(conversationId) ?? 0;
    const delay = delayMs ?? backoffDelay(failures, { baseMs: tuning.backoffBaseMs, capMs: tuning.backoffCapMs }, random);
    this.#failures.set(conversationId, failures + 1);
    logger.info(
      { conversationId, delayMs: delay, failures: failures + 1, code: error.codeName, err: error },
      "message send failed; the conversation's queue retries after a delay",
    );
    const timer = clock.setTimeout(() => {
      this.#holds.delete(conversationId);
      this.kick(conversationId);
    }, delay);
    this.#holds.set(conversationId, timer);
  }

  #release(conversationId: string): void {
    const timer = this.#holds.get(conversationId);
    if (timer !== undefined) this.#context.clock.clearTimeout(timer);
    this.#holds.delete(conversationId);
    this.#failures.delete(conversationId);
  }

  #notifyIfIdle(): void {
    if (this.#running.size !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function notInOutbox(clientMessageId: string): ChatError {
  return new ChatError(Code.NotFound, `outbox entry ${clientMessageId} not found; it was sent or discarded already`);
}
