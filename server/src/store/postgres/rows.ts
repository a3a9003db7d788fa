/**
 * Row shapes the PostgreSQL store reads, and their conversion to the shared
 * rows of `store/views.ts`. Free-form text (message text, titles) is stored
 * as UTF-8 in bytea columns, because a PostgreSQL text value cannot contain
 * U+0000 and chatwire stores text byte for byte.
 */
import type { ConversationRow, MemberRow, MessageRow } from "../views.js";

export interface StoredMessageRow extends Omit<MessageRow, "text"> {
  text: Buffer;
}

/** A conversation joined with one of its members; the member columns are null when it has none. */
export interface ConversationMemberRow extends Omit<ConversationRow, "title"> {
  title: Buffer;
  user_id: string | null;
  delivered_seq: number | null;
  read_seq: number | null;
  joined_after_seq: number | null;
  unread_count: number | null;
}

export function messageRow(row: StoredMessageRow): MessageRow {
  return { ...row, text: row.text.toString("utf8") };
}

export function encodeText(text: string): Buffer {
  return Buffer.from(text, "utf8");
}

/** Splits join rows of one conversation into the conversation and its members, in row order. */
export function conversationAndMembers(rows: ConversationMemberRow[]): { conversation: ConversationRow; members: MemberRow[] } {
  const first = rows[0] as ConversationMemberRow;
  const conversation: ConversationRow = {
    conversation_id: first.conversation_id,
    kind: first.kind,
    title: first.title.toString("utf8"),
    last_seq: first.last_seq,
    created_at: first.created_at,
    activity_at: first.activity_at,
  };
  const members: MemberRow[] = [];
  for (const row of rows) {
    if (row.user_id === null) continue;
    members.push({
      user_id: row.user_id,
      delivered_seq: row.delivered_seq ?? 0,
      read_seq: row.read_seq ?? 0,
      joined_after_seq: row.joined_after_seq ?? 0,
      unread_count: row.unread_count ?? 0,
    });
  }
  return { conversation, members };
}

/**
 * Checks that an id can be stored. PostgreSQL text cannot contain U+0000, so
 * no stored row has such an id, and callers report it as not found instead
 * of sending it.
 */
export function isStorableId(id: string): boolean {
  return !id.includes("\u0000");
}
