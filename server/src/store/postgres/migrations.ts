/**
 * Schema versions of the PostgreSQL store. Pending migrations run in one
 * transaction that first takes a transaction-level advisory lock for the
 * schema, so when several nodes start at once, one applies them and the
 * others wait and then find them applied. Each version is recorded in
 * schema_migrations. Never edit a released migration: add the next one.
 *
 * The tables are laid out for a sharding engine such as Citus. Every hot
 * table is keyed by the column it would be distributed by, named above each
 * table. Hot paths read and write by that column and join no tables of
 * different distribution columns.
 */
import { randomBytes } from "node:crypto";
import { escapeIdentifier, type ClientBase } from "pg";
import { SEND_MESSAGE_FUNCTION } from "./send-function.js";

interface Migration {
  version: number;
  name: string;
  /** SQL with `{schema}` in place of the quoted schema name. */
  sql: string;
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "conversations, messages, event logs",
    sql: `
      -- Small and rarely written: a reference table (a copy on every node).
      CREATE TABLE {schema}.store_meta (
        key text COLLATE "C" PRIMARY KEY,
        value text NOT NULL
      );

      -- Distribution column: conversation_id.
      CREATE TABLE {schema}.conversations (
        conversation_id text COLLATE "C" PRIMARY KEY,
        kind smallint NOT NULL,
        -- UTF-8 bytes: text columns cannot hold U+0000.
        title bytea NOT NULL,
        last_seq bigint NOT NULL DEFAULT 0,
        created_at bigint NOT NULL,
        activity_at bigint NOT NULL,
        creator_id text COLLATE "C" NOT NULL
      );

      -- Distribution column: conversation_id (co-located with conversations).
      CREATE TABLE {schema}.members (
        conversation_id text COLLATE "C" NOT NULL,
        user_id text COLLATE "C" NOT NULL,
        delivered_seq bigint NOT NULL DEFAULT 0,
        read_seq bigint NOT NULL DEFAULT 0,
        joined_after_seq bigint NOT NULL,
        -- Messages from others with seq > max(read_seq, joined_after_seq),
        -- kept up to date on every send and read mark.
        unread_count bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (conversation_id, user_id)
      );

      -- Distribution column: conversation_id (co-located with conversations).
      CREATE TABLE {schema}.messages (
        conversation_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        message_id text COLLATE "C" NOT NULL,
        sender_id text COLLATE "C" NOT NULL,
        sender_device_id text COLLATE "C" NOT NULL,
        client_message_id text COLLATE "C" NOT NULL,
        -- UTF-8 bytes, stored byte for byte.
        text bytea NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (conversation_id, seq)
      );

      -- Distribution column: sender_id. The idempotency keys live apart from
      -- messages so that their unique key contains its distribution column.
      -- A key is unique for the lifetime of the data.
      CREATE TABLE {schema}.message_keys (
        sender_id text COLLATE "C" NOT NULL,
        client_message_id text COLLATE "C" NOT NULL,
        conversation_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        PRIMARY KEY (sender_id, client_message_id)
      );

      -- Distribution column: user_id. Each user's conversations with their
      -- latest activity, so that listing them reads one user's rows.
      CREATE TABLE {schema}.user_conversations (
        user_id text COLLATE "C" NOT NULL,
        conversation_id text COLLATE "C" NOT NULL,
        activity_at bigint NOT NULL,
        PRIMARY KEY (user_id, conversation_id)
      );
      CREATE INDEX user_conversations_by_activity
        ON {schema}.user_conversations (user_id, activity_at, conversation_id);

      -- Distribution column: low_user_id. One row per pair of users with a
      -- direct conversation, the lower user id first.
      CREATE TABLE {schema}.direct_conversations (
        low_user_id text COLLATE "C" NOT NULL,
        high_user_id text COLLATE "C" NOT NULL,
        conversation_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (low_user_id, high_user_id)
      );

      -- Distribution column: creator_id. A creator's group request ids.
      CREATE TABLE {schema}.group_requests (
        creator_id text COLLATE "C" NOT NULL,
        request_id text COLLATE "C" NOT NULL,
        conversation_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (creator_id, request_id)
      );

      -- Distribution column: user_id. The head and pruned position of each event log.
      CREATE TABLE {schema}.user_logs (
        user_id text COLLATE "C" PRIMARY KEY,
        head bigint NOT NULL,
        pruned_through bigint NOT NULL DEFAULT 0
      );

      -- Distribution column: user_id (co-located with user_logs). payload is
      -- the protobuf encoding of chatwire.v1.Event without its position.
      CREATE TABLE {schema}.events (
        user_id text COLLATE "C" NOT NULL,
        position bigint NOT NULL,
        created_at bigint NOT NULL,
        payload bytea NOT NULL,
        PRIMARY KEY (user_id, position)
      );
      CREATE INDEX events_by_time ON {schema}.events (created_at);

      -- Distribution column: user_id. Each device's applied cursor position.
      CREATE TABLE {schema}.devices (
        user_id text COLLATE "C" NOT NULL,
        device_id text COLLATE "C" NOT NULL,
        position bigint NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (user_id, device_id)
      );

      INSERT INTO {schema}.store_meta (key, value) VALUES ('log_epoch', '{logEpoch}');
    `,
  },
  {
    version: 2,
    name: "send_message function",
    sql: SEND_MESSAGE_FUNCTION,
  },
];

/** The newest schema version in MIGRATIONS. */
export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** First key of the advisory lock that guards migrations; the second is a hash of the schema name. */
const MIGRATION_LOCK_CLASS = 0x63_77_6d_67; // "cwmg"

/**
 * Creates the schema when missing and applies every pending migration, in
 * one transaction under the schema's advisory lock. Returns the versions it
 * applied (empty when the schema was current). `schema` must already be
 * checked by `checkSchemaName`.
 */
export async function applyMigrations(client: ClientBase, schema: string): Promise<number[]> {
  const quoted = escapeIdentifier(schema);
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [MIGRATION_LOCK_CLASS, schema]);
    const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoted}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const result = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${quoted}.schema_migrations`,
    );
    const current = result.rows[0]?.version ?? 0;
    if (current > LATEST_VERSION) {
      throw new Error(
        `schema ${schema} has version ${current}, newer than this server's ${LATEST_VERSION}; ` +
          "run a newer chatwire-server or use another schema",
      );
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      const sql = migration.sql
        .replaceAll("{schema}", quoted)
        .replaceAll("{logEpoch}", randomBytes(8).toString("hex"));
      await client.query(sql);
      await client.query(`INSERT INTO ${quoted}.schema_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    await client.query("COMMIT");
    return applied;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
