import type Database from "better-sqlite3";
import type {
  ConversationRow,
  MessageRow,
  MessageValues,
  OutboxRow,
  PendingReadMarkRow,
} from "./records.js";

type Statement<P extends unknown[] | {} = unknown[], R = unknown> = Database.Statement<P, R>;

/** Every statement the adapter runs, prepared once when the file opens. */
export interface Statements {
  getMeta: Statement<[key: string], { value: string }>;
  setMeta: Statement<[key: string, value: string]>;
  deleteMeta: Statement<[key: string]>;
  /** Deletes every meta value except the user id and the device id. */
  deleteSyncedMeta: Statement<[]>;

  getConversation: Statement<[conversationId: string], ConversationRow>;
  putConversation: Statement<ConversationRow>;
  listConversations: Statement<[], ConversationRow>;
  deleteConversations: Statement<[]>;

  /** Inserts or replaces one message; parameters in messageColumns order. */
  putMessage: Statement<MessageValues>;
  /** The newest `limit` messages strictly between `after` and `before`, newest first. */
  newestMessages: Statement<MessageWindow, MessageRow>;
  /** The oldest `limit` messages strictly between `after` and `before`, oldest first. */
  oldestMessages: Statement<MessageWindow, MessageRow>;
  deleteMessages: Statement<[]>;

  addOutbox: Statement<OutboxRow>;
  getOutbox: Statement<[clientMessageId: string], OutboxRow>;
  listOutbox: Statement<[], OutboxRow>;
  listOutboxOf: Statement<[conversationId: string], OutboxRow>;
  updateOutbox: Statement<OutboxRow>;
  deleteOutbox: Statement<[clientMessageId: string]>;

  /** Inserts a mark, or raises the stored one and never lowers it. */
  putPendingReadMark: Statement<[conversationId: string, readSeq: number]>;
  listPendingReadMarks: Statement<[], PendingReadMarkRow>;
  /** Deletes the conversation's mark when it is at most the acknowledged seq. */
  deletePendingReadMark: Statement<[conversationId: string, acknowledgedSeq: number]>;
}

export interface MessageWindow {
  conversationId: string;
  after: number | bigint;
  before: number | bigint;
  limit: number;
}

const messageColumns =
  "conversation_id, seq, message_id, sender_id, sender_device_id, client_message_id, text, created_at";
const outboxColumns =
  "client_message_id, conversation_id, text, created_at, state, attempts, " +
  "failure_code, failure_message, failure_reason";
const conversationColumns =
  "conversation_id, kind, title, members_json, last_seq, unread_count, removed, updated_at";

export function prepareStatements(db: Database.Database): Statements {
  return {
    getMeta: db.prepare("SELECT value FROM meta WHERE key = ?"),
    setMeta: db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
    deleteMeta: db.prepare("DELETE FROM meta WHERE key = ?"),
    deleteSyncedMeta: db.prepare("DELETE FROM meta WHERE key NOT IN ('userId', 'deviceId')"),

    getConversation: db.prepare(
      `SELECT ${conversationColumns} FROM conversations WHERE conversation_id = ?`,
    ),
    putConversation: db.prepare(`
      INSERT INTO conversations (${conversationColumns})
      VALUES (@conversation_id, @kind, @title, @members_json, @last_seq, @unread_count, @removed, @updated_at)
      ON CONFLICT (conversation_id) DO UPDATE SET
        kind = excluded.kind, title = excluded.title, members_json = excluded.members_json,
        last_seq = excluded.last_seq, unread_count = excluded.unread_count,
        removed = excluded.removed, updated_at = excluded.updated_at
    `),
    listConversations: db.prepare(
      `SELECT ${conversationColumns} FROM conversations ORDER BY updated_at DESC, conversation_id ASC`,
    ),
    deleteConversations: db.prepare("DELETE FROM conversations"),

    putMessage: db.prepare(`
      INSERT INTO messages (${messageColumns})
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (conversation_id, seq) DO UPDATE SET
        message_id = excluded.message_id, sender_id = excluded.sender_id,
        sender_device_id = excluded.sender_device_id,
        client_message_id = excluded.client_message_id,
        text = excluded.text, created_at = excluded.created_at
    `),
    newestMessages: db.prepare(`
      SELECT ${messageColumns} FROM messages
      WHERE conversation_id = @conversationId AND seq > @after AND seq < @before
      ORDER BY seq DESC LIMIT @limit
    `),
    oldestMessages: db.prepare(`
      SELECT ${messageColumns} FROM messages
      WHERE conversation_id = @conversationId AND seq > @after AND seq < @before
      ORDER BY seq ASC LIMIT @limit
    `),
    deleteMessages: db.prepare("DELETE FROM messages"),

    addOutbox: db.prepare(`
      INSERT INTO outbox (${outboxColumns})
      VALUES (@client_message_id, @conversation_id, @text, @created_at, @state, @attempts,
              @failure_code, @failure_message, @failure_reason)
    `),
    getOutbox: db.prepare(`SELECT ${outboxColumns} FROM outbox WHERE client_message_id = ?`),
    listOutbox: db.prepare(`SELECT ${outboxColumns} FROM outbox ORDER BY position`),
    listOutboxOf: db.prepare(
      `SELECT ${outboxColumns} FROM outbox WHERE conversation_id = ? ORDER BY position`,
    ),
    // Leaves position alone, so an updated entry keeps its place in the order.
    updateOutbox: db.prepare(`
      UPDATE outbox SET
        conversation_id = @conversation_id, text = @text, created_at = @created_at,
        state = @state, attempts = @attempts, failure_code = @failure_code,
        failure_message = @failure_message, failure_reason = @failure_reason
      WHERE client_message_id = @client_message_id
    `),
    deleteOutbox: db.prepare("DELETE FROM outbox WHERE client_message_id = ?"),

    putPendingReadMark: db.prepare(`
      INSERT INTO pending_read_marks (conversation_id, read_seq) VALUES (?, ?)
      ON CONFLICT (conversation_id) DO UPDATE SET read_seq = MAX(read_seq, excluded.read_seq)
    `),
    listPendingReadMarks: db.prepare("SELECT conversation_id, read_seq FROM pending_read_marks"),
    deletePendingReadMark: db.prepare(
      "DELETE FROM pending_read_marks WHERE conversation_id = ? AND read_seq <= ?",
    ),
  };
}
