/** Every SQL statement of the SQLite store, prepared once when the store opens. */
import type Database from "better-sqlite3";

const SQL = {
  // Conversations and members.
  conversationById: "SELECT conversation_id, kind, title, last_seq, created_at, activity_at FROM conversations WHERE conversation_id = ?",
  conversationIdByDirectKey: "SELECT conversation_id FROM conversations WHERE direct_key = ?",
  conversationIdByRequest: "SELECT conversation_id FROM conversations WHERE creator_id = ? AND request_id = ?",
  insertConversation: `INSERT INTO conversations
         (conversation_id, kind, title, last_seq, created_at, activity_at, direct_key, creator_id, request_id)
       VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?)`,
  touchConversation: "UPDATE conversations SET activity_at = ? WHERE conversation_id = ?",
  nextSeq: "UPDATE conversations SET last_seq = last_seq + 1, activity_at = ? WHERE conversation_id = ? RETURNING last_seq",
  membersOf: `SELECT user_id, delivered_seq, read_seq, joined_after_seq, unread_count
         FROM members WHERE conversation_id = ? ORDER BY user_id`,
  memberIdsOf: "SELECT user_id FROM members WHERE conversation_id = ?",
  member: `SELECT user_id, delivered_seq, read_seq, joined_after_seq, unread_count
         FROM members WHERE conversation_id = ? AND user_id = ?`,
  insertMember: `INSERT INTO members (conversation_id, user_id, delivered_seq, read_seq, joined_after_seq, unread_count)
       VALUES (?, ?, 0, 0, ?, 0)`,
  deleteMember: "DELETE FROM members WHERE conversation_id = ? AND user_id = ?",
  countUnreadForOthers: "UPDATE members SET unread_count = unread_count + 1 WHERE conversation_id = ? AND user_id <> ?",
  countUnread: "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND seq > ? AND sender_id <> ?",
  updateMarks: `UPDATE members SET delivered_seq = ?, read_seq = ?, unread_count = ?
        WHERE conversation_id = ? AND user_id = ?`,
  conversationsFirstPage: `SELECT c.conversation_id, c.kind, c.title, c.last_seq, c.created_at, c.activity_at
         FROM members m JOIN conversations c ON c.conversation_id = m.conversation_id
        WHERE m.user_id = ?
        ORDER BY c.activity_at DESC, c.conversation_id DESC
        LIMIT ?`,
  conversationsAfter: `SELECT c.conversation_id, c.kind, c.title, c.last_seq, c.created_at, c.activity_at
         FROM members m JOIN conversations c ON c.conversation_id = m.conversation_id
        WHERE m.user_id = ?
          AND (c.activity_at < ? OR (c.activity_at = ? AND c.conversation_id < ?))
        ORDER BY c.activity_at DESC, c.conversation_id DESC
        LIMIT ?`,
  // Messages.
  messageByKey: `SELECT conversation_id, seq, message_id, sender_id, sender_device_id, client_message_id, text, created_at
         FROM messages WHERE sender_id = ? AND client_message_id = ?`,
  messageBySeq: `SELECT conversation_id, seq, message_id, sender_id, sender_device_id, client_message_id, text, created_at
         FROM messages WHERE conversation_id = ? AND seq = ?`,
  insertMessage: `INSERT INTO messages
         (conversation_id, seq, message_id, sender_id, sender_device_id, client_message_id, text, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  historyPage: `SELECT conversation_id, seq, message_id, sender_id, sender_device_id, client_message_id, text, created_at
         FROM messages WHERE conversation_id = ? AND seq < ? AND seq > ?
        ORDER BY seq DESC LIMIT ?`,
  // Event logs and device cursors.
  advanceHead: `INSERT INTO user_logs (user_id, head, pruned_through) VALUES (?, 1, 0)
       ON CONFLICT (user_id) DO UPDATE SET head = head + 1
       RETURNING head`,
  insertEvent: "INSERT INTO events (user_id, position, created_at, payload) VALUES (?, ?, ?, ?)",
  eventsAfter: "SELECT position, payload FROM events WHERE user_id = ? AND position > ? ORDER BY position LIMIT ?",
  logBounds: "SELECT head, pruned_through FROM user_logs WHERE user_id = ?",
  expiredHeads: "SELECT user_id, MAX(position) AS through FROM events WHERE created_at < ? GROUP BY user_id LIMIT ?",
  raisePrunedThrough: "UPDATE user_logs SET pruned_through = MAX(pruned_through, ?) WHERE user_id = ?",
  deleteEventsThrough: "DELETE FROM events WHERE user_id = ? AND position <= ?",
  raiseDeviceCursor: `INSERT INTO devices (user_id, device_id, position, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id, device_id) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
       WHERE excluded.position > devices.position`,
  logEpoch: "SELECT value FROM store_meta WHERE key = 'log_epoch'",
} as const;

/** Statements that return the first column of each row instead of an object. */
const PLUCKED: ReadonlySet<keyof typeof SQL> = new Set<keyof typeof SQL>([
  "conversationIdByDirectKey",
  "conversationIdByRequest",
  "memberIdsOf",
  "countUnread",
  "advanceHead",
  "logEpoch",
]);

export type Statements = { readonly [Name in keyof typeof SQL]: Database.Statement };

export function prepareStatements(db: Database.Database): Statements {
  const prepared: Partial<Record<keyof typeof SQL, Database.Statement>> = {};
  for (const name of Object.keys(SQL) as Array<keyof typeof SQL>) {
    const statement = db.prepare(SQL[name]);
    prepared[name] = PLUCKED.has(name) ? statement.pluck() : statement;
  }
  return prepared as Statements;
}
