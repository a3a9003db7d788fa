import type { Event } from "@chatwire/gen";
import type { ChatEvent } from "../events.js";
import type { ConversationRecord, StorageTransaction } from "../storage/types.js";
import type { ReceiptEvent } from "@chatwire/gen";
import { PageMessages } from "./page-messages.js";
import { compareMembers, findMember, mergeConversation, placeholderConversation, toMessageRecord, toNumber } from "./records.js";
import { countStoredUnreadAfter, recountUnread } from "./unread.js";

/** Changes made by applying one page or batch of events, for the steps after the commit. */
export interface AppliedPage {
  /** True when the page did not continue the stored position; nothing was written. */
  gap: { expectedPosition: number; receivedPosition: number } | undefined;
  /** Events to emit once the transaction has committed. */
  events: ChatEvent[];
  /** Conversations whose records, messages or outbox changed. */
  changedConversations: Set<string>;
  /** Per conversation, the highest seq of another user's message applied: the delivered mark to send. */
  delivered: Map<string, number>;
  /** Conversations that events referred to but storage did not have: fetch them from the server. */
  unknownConversations: Set<string>;
  /** The stored position after the page, or undefined when none is stored. */
  position: number | undefined;
  /** True when the page moved the stored cursor. */
  cursorAdvanced: boolean;
}

/**
 * Applies one page of the user's event log inside `tx`, with the page's
 * cursor, so that events and cursor commit together (a crash between pages
 * re-fetches the page and re-applies it without effect).
 *
 * Continuity: every event must have the position after the stored one.
 * Events at or below the stored position were applied already and are
 * skipped. An event further ahead means events were lost; then nothing is
 * written and `gap` is set, and the caller syncs again from the stored
 * cursor. With no stored position (an empty cursor, or the cursor of a
 * rebuild taken with Sync from_end) the first event may have any position,
 * because the server starts at the oldest event it still keeps.
 */
export async function applyEventPage(
  tx: StorageTransaction,
  events: readonly Event[],
  cursor: string,
  userId: string,
): Promise<AppliedPage> {
  const storedPosition = parsePosition(await tx.getMeta("position"));
  const result: AppliedPage = {
    gap: undefined,
    events: [],
    changedConversations: new Set(),
    delivered: new Map(),
    unknownConversations: new Set(),
    position: storedPosition,
    cursorAdvanced: false,
  };

  let last = storedPosition;
  const fresh: Event[] = [];
  for (const event of events) {
    const position = toNumber(event.position);
    if (last !== undefined && position <= last) continue;
    if (last !== undefined && position !== last + 1) {
      result.gap = { expectedPosition: last + 1, receivedPosition: position };
      return result;
    }
    fresh.push(event);
    last = position;
  }

  if (fresh.length === 0) {
    // An empty page from an empty cursor may still name a cursor; keeping it costs nothing.
    if (storedPosition === undefined && cursor !== "" && (await tx.getMeta("cursor")) !== cursor) {
      await tx.setMeta("cursor", cursor);
      result.cursorAdvanced = true;
    }
    return result;
  }

  const applier = new EventApplier(tx, userId, result, fresh);
  for (const event of fresh) await applier.apply(event);
  await applier.flush();

  await tx.setMeta("cursor", cursor);
  await tx.setMeta("position", String(last));
  result.position = last;
  result.cursorAdvanced = true;
  return result;
}

/** Parses the stored position; undefined when none is stored. */
export function parsePosition(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const position = Number(value);
  return Number.isSafeInteger(position) && position >= 0 ? position : undefined;
}

/**
 * Applies events one by one, keeping the touched conversation records in
 * memory and buffering message writes until `flush()`.
 */
class EventApplier {
  readonly #tx: StorageTransaction;
  readonly #userId: string;
  readonly #result: AppliedPage;
  readonly #conversations = new Map<string, ConversationRecord>();
  readonly #messages: PageMessages;

  constructor(tx: StorageTransaction, userId: string, result: AppliedPage, events: readonly Event[]) {
    this.#tx = tx;
    this.#userId = userId;
    this.#result = result;
    this.#messages = new PageMessages(tx, PageMessages.spansOf(messageKeys(events)));
  }

  async apply(event: Event): Promise<void> {
    switch (event.kind.case) {
      case "message":
        if (event.kind.value.message !== undefined) await this.#applyMessage(event.kind.value.message);
        return;
      case "receipt":
        await this.#applyReceipt(event.kind.value);
        return;
      case "conversation":
        if (event.kind.value.conversation !== undefined) {
          await this.#applyConversation(event.kind.value.conversation, event.kind.value.removed);
        }
        return;
      default:
        // Unknown event kinds are skipped, so the server can add kinds without breaking older clients.
        return;
    }
  }

  async flush(): Promise<void> {
    await this.#messages.flush();
    for (const record of this.#conversations.values()) await this.#tx.putConversation(record);
  }

  async #conversation(conversationId: string): Promise<ConversationRecord> {
    let record = this.#conversations.get(conversationId);
    if (record === undefined) {
      record = (await this.#tx.getConversation(conversationId)) ?? placeholderConversation(conversationId);
      // A record without members is a placeholder (made by a send response or an earlier event): fetch the real one.
      if (record.members.length === 0) this.#result.unknownConversations.add(conversationId);
      this.#conversations.set(conversationId, record);
    }
    this.#result.changedConversations.add(conversationId);
    return record;
  }

  async #applyMessage(message: Parameters<typeof toMessageRecord>[0]): Promise<void> {
    const record = toMessageRecord(message);
    const conversation = await this.#conversation(record.conversationId);
    const known = await this.#messages.add(record);

    const own = record.senderId === this.#userId;
    if (!known) {
      const readSeq = findMember(conversation, this.#userId)?.readSeq ?? 0;
      if (!own && record.seq > readSeq) conversation.unreadCount += 1;
      this.#result.events.push({ type: "message", message: record, own });
    }
    conversation.lastSeq = Math.max(conversation.lastSeq, record.seq);
    conversation.updatedAt = Math.max(conversation.updatedAt, record.createdAt);

    if (own) {
      // The echo of our own send: it replaces the pending entry, and the late send response becomes a no-op.
      await this.#tx.deleteOutbox(record.clientMessageId);
    } else {
      const delivered = this.#result.delivered.get(record.conversationId) ?? 0;
      this.#result.delivered.set(record.conversationId, Math.max(delivered, record.seq));
      const self = findMember(conversation, this.#userId);
      if (self !== undefined) self.deliveredSeq = Math.max(self.deliveredSeq, record.seq);
    }
  }

  async #applyReceipt(receipt: ReceiptEvent): Promise<void> {
    const conversation = await this.#conversation(receipt.conversationId);
    let member = findMember(conversation, receipt.userId);
    if (member === undefined) {
      member = { userId: receipt.userId, deliveredSeq: 0, readSeq: 0, joinedAfterSeq: 0 };
      conversation.members.push(member);
      conversation.members.sort(compareMembers);
    }
    const previousRead = member.readSeq;
    member.readSeq = Math.max(member.readSeq, toNumber(receipt.readSeq));
    member.deliveredSeq = Math.max(member.deliveredSeq, toNumber(receipt.deliveredSeq), member.readSeq);
    if (receipt.userId === this.#userId && member.readSeq > previousRead) {
      await this.#messages.flush();
      await recountUnread(this.#tx, conversation, this.#userId);
    }
    this.#result.events.push({
      type: "receipt",
      conversationId: receipt.conversationId,
      userId: receipt.userId,
      deliveredSeq: member.deliveredSeq,
      readSeq: member.readSeq,
    });
  }

  async #applyConversation(remote: Parameters<typeof mergeConversation>[1], removed: boolean): Promise<void> {
    const local = await this.#conversation(remote.conversationId);
    this.#result.unknownConversations.delete(remote.conversationId);
    const merged = mergeConversation(local.lastSeq === 0 && local.members.length === 0 ? undefined : local, remote, removed);

    if (remote.lastMessage !== undefined) {
      const lastMessage = toMessageRecord(remote.lastMessage);
      await this.#messages.put(lastMessage);
      if (lastMessage.senderId === this.#userId) await this.#tx.deleteOutbox(lastMessage.clientMessageId);
    }
    // The event's unread count covers seqs up to its lastSeq. Messages above it that storage has already
    // (stored by a rebuild, GetHistory or ListConversations) are not counted when their own events
    // arrive, because they are known then, so they are counted here.
    const remoteLastSeq = toNumber(remote.lastSeq);
    if (merged.lastSeq > remoteLastSeq) {
      await this.#messages.flush();
      merged.unreadCount += await countStoredUnreadAfter(this.#tx, merged, remoteLastSeq, this.#userId);
    }
    const remoteReadSeq = toNumber(remote.members.find((m) => m.userId === this.#userId)?.readSeq ?? 0n);
    if ((findMember(merged, this.#userId)?.readSeq ?? 0) > remoteReadSeq) {
      await this.#messages.flush();
      await recountUnread(this.#tx, merged, this.#userId);
    }
    this.#conversations.set(remote.conversationId, merged);
    this.#result.events.push({ type: "conversation", conversation: merged, removed });
  }
}

/** Yields the conversation and seq of every message event, for planning the page's range reads. */
function* messageKeys(events: readonly Event[]): Generator<{ conversationId: string; seq: number }> {
  for (const event of events) {
    if (event.kind.case !== "message" || event.kind.value.message === undefined) continue;
    const { conversationId, seq } = event.kind.value.message;
    yield { conversationId, seq: toNumber(seq) };
  }
}
