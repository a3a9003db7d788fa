import type { ConversationRecord, MessageRecord, OutboxEntry } from "@chatwire/sdk-core";

// Realistic values: millisecond times in 2025, ids shaped like the server's.
const baseTime = 1_750_000_000_000;

export function sampleConversation(
  conversationId: string,
  overrides: Partial<ConversationRecord> = {},
): ConversationRecord {
  return {
    conversationId,
    kind: "group",
    title: `Title of ${conversationId}`,
    members: [
      { userId: "alice", deliveredSeq: 3, readSeq: 2, joinedAfterSeq: 0 },
      { userId: "bob", deliveredSeq: 3, readSeq: 3, joinedAfterSeq: 1 },
    ],
    lastSeq: 3,
    unreadCount: 1,
    removed: false,
    updatedAt: baseTime,
    ...overrides,
  };
}

export function sampleMessage(
  conversationId: string,
  seq: number,
  overrides: Partial<MessageRecord> = {},
): MessageRecord {
  return {
    conversationId,
    seq,
    messageId: `msg-${conversationId}-${seq}`,
    senderId: seq % 2 === 0 ? "bob" : "alice",
    senderDeviceId: seq % 2 === 0 ? "bob-phone" : "alice-laptop",
    clientMessageId: `0197a000-0000-7000-8000-${String(seq).padStart(12, "0")}`,
    text: `message ${seq} of ${conversationId}`,
    createdAt: baseTime + seq * 1000,
    ...overrides,
  };
}

export function sampleOutboxEntry(
  clientMessageId: string,
  overrides: Partial<OutboxEntry> = {},
): OutboxEntry {
  return {
    clientMessageId,
    conversationId: "group:launch",
    text: `text of ${clientMessageId}`,
    createdAt: baseTime,
    state: "queued",
    attempts: 0,
    ...overrides,
  };
}

/** Messages with the given seqs, in that order. */
export function sampleMessages(conversationId: string, seqs: readonly number[]): MessageRecord[] {
  return seqs.map((seq) => sampleMessage(conversationId, seq));
}

export function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, index) => first + index);
}
