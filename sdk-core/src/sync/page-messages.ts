import type { MessageRecord, StorageTransaction } from "../storage/types.js";

/** Lowest and highest seq of a page's messages in one conversation. */
interface SeqSpan {
  first: number;
  last: number;
}

/**
 * Writes the messages of one event page and reports, for each, whether
 * storage already had a message at its seq (stored by an earlier run of the same page,
 * a send response, GetHistory or a conversation's last message). Only a
 * message that was not stored counts as unread and is emitted as new.
 *
 * Cost: one range read per conversation of the page, on the conversation's
 * first message, instead of one read per message, and one `putMessages` call
 * for the whole page. Writes are buffered until `flush()`, and every other
 * write or read of messages in the page's transaction must flush first, so
 * that storage sees the writes in event order.
 */
export class PageMessages {
  readonly #tx: StorageTransaction;
  readonly #spans: ReadonlyMap<string, SeqSpan>;
  /** Per conversation, the seqs in its span that storage has, including the buffered ones. */
  readonly #stored = new Map<string, Set<number>>();
  #buffered: MessageRecord[] = [];

  /** `spans` covers the seqs of every message that `add` will get. */
  constructor(tx: StorageTransaction, spans: ReadonlyMap<string, SeqSpan>) {
    this.#tx = tx;
    this.#spans = spans;
  }

  /** Returns the seq span per conversation of the given messages. */
  static spansOf(messages: Iterable<{ conversationId: string; seq: number }>): Map<string, SeqSpan> {
    const spans = new Map<string, SeqSpan>();
    for (const { conversationId, seq } of messages) {
      const span = spans.get(conversationId);
      if (span === undefined) {
        spans.set(conversationId, { first: seq, last: seq });
      } else {
        span.first = Math.min(span.first, seq);
        span.last = Math.max(span.last, seq);
      }
    }
    return spans;
  }

  /** Buffers `record` for writing. Resolves with true when storage already had a message at its seq. */
  async add(record: MessageRecord): Promise<boolean> {
    const stored = this.#stored.get(record.conversationId) ?? (await this.#load(record));
    const known = stored.has(record.seq);
    stored.add(record.seq);
    this.#buffered.push(record);
    return known;
  }

  /** Writes `record` now, after the buffered messages (for messages outside the page's spans). */
  async put(record: MessageRecord): Promise<void> {
    await this.flush();
    await this.#tx.putMessages([record]);
    this.#stored.get(record.conversationId)?.add(record.seq);
  }

  /** Writes the buffered messages. */
  async flush(): Promise<void> {
    if (this.#buffered.length === 0) return;
    const records = this.#buffered;
    this.#buffered = [];
    await this.#tx.putMessages(records);
  }

  async #load(record: MessageRecord): Promise<Set<number>> {
    // A seq outside the planned span (a caller that did not plan it) is
    // still checked correctly, with a span of that seq alone.
    const planned = this.#spans.get(record.conversationId);
    const span =
      planned !== undefined && planned.first <= record.seq && record.seq <= planned.last
        ? planned
        : { first: record.seq, last: record.seq };
    // The read must see every earlier write of the page.
    await this.flush();
    const messages = await this.#tx.getMessages(record.conversationId, {
      afterSeq: span.first - 1,
      beforeSeq: span.last + 1,
      limit: span.last - span.first + 1,
    });
    const stored = new Set(messages.map((message) => message.seq));
    // Only the planned span covers the later seqs of the conversation, so only its result is kept.
    if (span === planned) this.#stored.set(record.conversationId, stored);
    return stored;
  }
}
