import type { StorageHarness } from "./harness.js";
import type { ConversationRecord, MessageRecord, MetaKey, OutboxEntry, PendingReadMark } from "@chatwire/sdk-core";

export interface StorageSnapshot {
  meta: Partial<Record<MetaKey, string>>;
  conversations: ConversationRecord[];
  messages: Record<string, MessageRecord[]>;
  outbox: OutboxEntry[];
  /** Marks sorted by conversationId, because the contract leaves their order open. */
  pendingReadMarks: PendingReadMark[];
}

const metaKeys: readonly MetaKey[] = ["userId", "deviceId", "cursor", "position"];

/**
 * Reads everything the storage holds for the given conversations in one
 * readonly transaction, for before-and-after comparisons.
 */
export function takeSnapshot(h: StorageHarness, conversationIds: readonly string[]): Promise<StorageSnapshot> {
  return h.read(async (tx) => {
    const meta: Partial<Record<MetaKey, string>> = {};
    for (const key of metaKeys) {
      const value = await tx.getMeta(key);
      if (value !== undefined) meta[key] = value;
    }
    const messages: Record<string, MessageRecord[]> = {};
    for (const id of conversationIds) {
      messages[id] = await tx.getMessages(id, { limit: 1_000_000 });
    }
    return {
      meta,
      conversations: await tx.listConversations(),
      messages,
      outbox: await tx.listOutbox(),
      pendingReadMarks: sortMarks(await tx.listPendingReadMarks()),
    };
  });
}

/** Sorts marks in place by conversationId, comparing UTF-16 code units, and returns them. */
export function sortMarks(marks: PendingReadMark[]): PendingReadMark[] {
  return marks.sort((a, b) => compareCodeUnits(a.conversationId, b.conversationId));
}

function compareCodeUnits(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
