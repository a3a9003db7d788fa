import type { ConversationRecord, StorageTransaction } from "../storage/types.js";
import { findMember } from "./records.js";

/** Maximum number of seqs above the read mark that are counted from storage; beyond it the count is only capped. */
const maxCountedSpan = 1_000;

/**
 * Sets `conversation.unreadCount` after the local user's read mark went up:
 * the number of other users' messages above the mark.
 *
 * The count is exact when storage has every message above the mark. When it
 * does not (history not loaded yet), the previous count is kept but capped
 * at the number of seqs above the mark, so it never exceeds what can be unread.
 */
export async function recountUnread(
  tx: StorageTransaction,
  conversation: ConversationRecord,
  userId: string,
): Promise<void> {
  const readSeq = findMember(conversation, userId)?.readSeq ?? 0;
  if (readSeq >= conversation.lastSeq) {
    conversation.unreadCount = 0;
    return;
  }
  const span = conversation.lastSeq - readSeq;
  if (span <= maxCountedSpan) {
    const messages = await tx.getMessages(conversation.conversationId, { afterSeq: readSeq, limit: span });
    if (messages.length === span) {
      conversation.unreadCount = messages.filter((message) => message.senderId !== userId).length;
      return;
    }
  }
  conversation.unreadCount = Math.min(conversation.unreadCount, span);
}

/**
 * Returns how many other users' messages storage has above `afterSeq` and
 * above the local user's read mark, up to the conversation's lastSeq. Only
 * the first maxCountedSpan seqs are read.
 */
export async function countStoredUnreadAfter(
  tx: StorageTransaction,
  conversation: ConversationRecord,
  afterSeq: number,
  userId: string,
): Promise<number> {
  const from = Math.max(afterSeq, findMember(conversation, userId)?.readSeq ?? 0);
  const span = conversation.lastSeq - from;
  if (span <= 0) return 0;
  const messages = await tx.getMessages(conversation.conversationId, { afterSeq: from, limit: Math.min(span, maxCountedSpan) });
  return messages.filter((message) => message.senderId !== userId).length;
}
