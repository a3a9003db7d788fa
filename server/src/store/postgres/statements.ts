/**
 * Every SQL statement of the PostgreSQL store. Table names carry the schema,
 * so the store needs no search_path and works through poolers that drop
 * startup options. Each statement runs as a named prepared statement, which
 * PostgreSQL parses and plans once per connection.
 *
 * Writes lock rows in one order: the conversation row first, then member
 * rows, and the user log heads last. The heads are locked in user id order
 * by one statement (`advanceHeads`). So two transactions cannot wait for
 * each other in a cycle. The `send_message` function (send-function.ts)
 * takes its locks in the same order.
 */
import { escapeIdentifier } from "pg";

const SQL = {
  // Conversations and members.
  conversationWithMembers: `SELECT c.conversation_id, c.kind, c.title, c.last_seq, c.created_at, c.activity_at,
         m.user_id, m.delivered_seq, m.read_seq, m.joined_after_seq, m.unread_count
       FROM {schema}.conversations c LEFT JOIN {schema}.members m ON m.conversation_id = c.conversation_id
      WHERE c.conversation_id = $1
      ORDER BY m.user_id`,
  conversationsWithMembers: `SELECT c.conversation_id, c.kind, c.title, c.last_seq, c.created_at, c.activity_at,
         m.user_id, m.delivered_seq, m.read_seq, m.joined_after_seq, m.unread_count
       FROM {schema}.conversations c LEFT JOIN {schema}.members m ON m.conversation_id = c.conversation_id
      WHERE c.conversation_id = ANY($1::text[])
      ORDER BY c.conversation_id, m.user_id`,
  lockConversation: "SELECT kind, last_seq FROM {schema}.conversations WHERE conversation_id = $1 FOR UPDATE",
  // FOR KEY SHARE waits for membership changes (FOR UPDATE) but not for sends,
  // whose UPDATE of last_seq takes the weaker FOR NO KEY UPDATE lock.
  shareConversations: `SELECT conversation_id, last_seq FROM {schema}.conversations
      WHERE conversation_id = ANY($1::text[])
      ORDER BY conversation_id
      FOR KEY SHARE`,
  directConversation: `SELECT conversation_id FROM {schema}.direct_conversations
      WHERE low_user_id = $1 AND high_user_id = $2`,
  claimDirect: `INSERT INTO {schema}.direct_conversations (low_user_id, high_user_id, conversation_id)
      VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING conversation_id`,
  groupRequest: "SELECT conversation_id FROM {schema}.group_requests WHERE creator_id = $1 AND request_id = $2",
  claimGroupRequest: `INSERT INTO {schema}.group_requests (creator_id, request_id, conversation_id)
      VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING conversation_id`,
  insertConversation: `INSERT INTO {schema}.conversations
         (conversation_id, kind, title, last_seq, created_at, activity_at, creator_id)
      VALUES ($1, $2, $3, 0, $4, $4, $5)`,
  // GREATEST keeps activity from going back when the clocks of two nodes differ.
  touchConversation: `UPDATE {schema}.conversations SET activity_at = GREATEST(activity_at, $2)
      WHERE conversation_id = $1`,
  member: `SELECT user_id, delivered_seq, read_seq, joined_after_seq, unread_count
       FROM {schema}.members WHERE conversation_id = $1 AND user_id = $2`,
  insertMembers: `INSERT INTO {schema}.members
         (conversation_id, user_id, delivered_seq, read_seq, joined_after_seq, unread_count)
      SELECT $1, user_id, 0, 0, $3, 0 FROM unnest($2::text[]) AS t(user_id)`,
  deleteMembers: "DELETE FROM {schema}.members WHERE conversation_id = $1 AND user_id = ANY($2::text[])",
  insertUserConversations: `INSERT INTO {schema}.user_conversations (user_id, conversation_id, activity_at)
      SELECT user_id, $1, $3 FROM unnest($2::text[]) AS t(user_id)`,
  deleteUserConversations: `DELETE FROM {schema}.user_conversations
      WHERE conversation_id = $1 AND user_id = ANY($2::text[])`,
  touchUserConversations: `UPDATE {schema}.user_conversations SET activity_at = GREATEST(activity_at, $3)
      WHERE conversation_id = $1 AND user_id = ANY($2::text[])`,
  conversationsFirstPage: `SELECT conversation_id, activity_at FROM {schema}.user_conversations
      WHERE user_id = $1
      ORDER BY activity_at DESC, conversation_id DESC
      LIMIT $2`,
  conversationsAfter: `SELECT conversation_id, activity_at FROM {schema}.user_conversations
      WHERE user_id = $1 AND (activity_at, conversation_id) < ($2, $3)
      ORDER BY activity_at DESC, conversation_id DESC
      LIMIT $4`,

  // Messages.
  sendMessage: `SELECT replayed, conversation_id, seq, message_id, sender_device_id, text, created_at, user_ids, heads
       FROM {schema}.send_message($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  messageBySeq: `SELECT conversation_id, seq, message_id, sender_id, sender_device_id, client_message_id, text, created_at
       FROM {schema}.messages WHERE conversation_id = $1 AND seq = $2`,
  messagesBySeq: `SELECT m.conversation_id, m.seq, m.message_id, m.sender_id, m.sender_device_id,
         m.client_message_id, m.text, m.created_at
       FROM {schema}.messages m JOIN unnest($1::text[], $2::bigint[]) AS k(conversation_id, seq)
         ON m.conversation_id = k.conversation_id AND m.seq = k.seq`,
  historyPage: `SELECT conversation_id, seq, message_id, sender_id, sender_device_id, client_message_id, text, created_at
       FROM {schema}.messages WHERE conversation_id = $1 AND seq < $2 AND seq > $3
      ORDER BY seq DESC LIMIT $4`,

  // Delivered and read marks.
  lockMembersOfUser: `SELECT conversation_id, user_id, delivered_seq, read_seq, joined_after_seq, unread_count
       FROM {schema}.members WHERE conversation_id = ANY($1::text[]) AND user_id = $2
      ORDER BY conversation_id
      FOR UPDATE`,
  // Sets both marks and, when $5 is true, recounts unread messages from
  // others above $6; otherwise unread_count stays. Returns every member of
  // the conversation for the receipt, in one round trip.
  updateMarks: `UPDATE {schema}.members AS m SET delivered_seq = $3, read_seq = $4,
         unread_count = CASE WHEN $5::boolean THEN (
           SELECT count(*) FROM {schema}.messages
            WHERE conversation_id = $1 AND seq > $6 AND sender_id <> $2
         ) ELSE m.unread_count END
      WHERE m.conversation_id = $1 AND m.user_id = $2
      RETURNING (SELECT array_agg(o.user_id) FROM {schema}.members o WHERE o.conversation_id = $1) AS member_ids`,

  // Event logs and device cursors.
  // INSERT ... SELECT ... ORDER BY inserts or locks the head rows in user id
  // order, which is the lock order every writer keeps.
  advanceHeads: `INSERT INTO {schema}.user_logs AS l (user_id, head, pruned_through)
      SELECT t.user_id, t.appended, 0 FROM unnest($1::text[], $2::bigint[]) AS t(user_id, appended)
      ORDER BY t.user_id
      ON CONFLICT (user_id) DO UPDATE SET head = l.head + excluded.head
      RETURNING l.user_id, l.head`,
  insertEvents: `INSERT INTO {schema}.events (user_id, position, created_at, payload)
      SELECT t.user_id, t.position, $3, ($4::bytea[])[t.payload_index]
        FROM unnest($1::text[], $2::bigint[], $5::int[]) AS t(user_id, position, payload_index)`,
  eventsAfter: `SELECT position, payload FROM {schema}.events
      WHERE user_id = $1 AND position > $2 ORDER BY position LIMIT $3`,
  logBounds: "SELECT head, pruned_through FROM {schema}.user_logs WHERE user_id = $1",
  // Only the oldest $3 expired events are looked at, so that one prune step
  // stays well within the statement timeout however large the backlog is.
  expiredLogs: `SELECT user_id, max(position) AS through FROM (
        SELECT user_id, position FROM {schema}.events
         WHERE created_at < $1
         ORDER BY created_at
         LIMIT $3
      ) AS oldest
      GROUP BY user_id
      LIMIT $2`,
  lockLogs: `SELECT user_id FROM {schema}.user_logs WHERE user_id = ANY($1::text[])
      ORDER BY user_id FOR UPDATE`,
  raisePrunedThrough: `UPDATE {schema}.user_logs AS l SET pruned_through = GREATEST(l.pruned_through, t.through)
       FROM unnest($1::text[], $2::bigint[]) AS t(user_id, through)
      WHERE l.user_id = t.user_id`,
  deleteEventsThrough: `DELETE FROM {schema}.events AS e
       USING unnest($1::text[], $2::bigint[]) AS t(user_id, through)
      WHERE e.user_id = t.user_id AND e.position <= t.through`,
  raiseDeviceCursor: `INSERT INTO {schema}.devices AS d (user_id, device_id, position, updated_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (user_id, device_id) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
      WHERE excluded.position > d.position`,
  logEpoch: "SELECT value FROM {schema}.store_meta WHERE key = 'log_epoch'",
} as const;

export type StatementName = keyof typeof SQL;

/** A statement ready for pg: a name unique per store and its text with the schema filled in. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

export type Statements = { readonly [Name in StatementName]: Statement };

/** Fills the schema into every statement. `schema` must already be checked by `checkSchemaName`. */
export function buildStatements(schema: string): Statements {
  const quoted = escapeIdentifier(schema);
  const built: Partial<Record<StatementName, Statement>> = {};
  for (const name of Object.keys(SQL) as StatementName[]) {
    built[name] = { name: `chatwire_${name}`, text: SQL[name].replaceAll("{schema}", quoted) };
  }
  return built as Statements;
}
