/**
 * Schema versions of the SQLite store. Each migration runs once, in order, in
 * its own transaction, and is recorded in schema_migrations. Never edit a
 * released migration: add the next one.
 */
import { randomBytes } from "node:crypto";
import type Database from "better-sqlite3";

interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "conversations, messages, event logs",
    up(db) {
      db.exec(`
        CREATE TABLE store_meta (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE conversations (
          conversation_id TEXT PRIMARY KEY,
          kind INTEGER NOT NULL,
          title TEXT NOT NULL,
          last_seq INTEGER NOT NULL DEFAULT 0,
          created_at INTEGER NOT NULL,
          activity_at INTEGER NOT NULL,
          -- "userA userB" in sorted order for direct conversations, so that a
          -- pair has at most one; NULL for groups.
          direct_key TEXT UNIQUE,
          creator_id TEXT NOT NULL,
          -- The creator's idempotency key for groups; NULL when none was given.
          request_id TEXT,
          UNIQUE (creator_id, request_id)
        );

        CREATE TABLE members (
          conversation_id TEXT NOT NULL,
          user_id TEXT NOT NULL,
          delivered_seq INTEGER NOT NULL DEFAULT 0,
          read_seq INTEGER NOT NULL DEFAULT 0,
          joined_after_seq INTEGER NOT NULL,
          -- Messages from others with seq > max(read_seq, joined_after_seq),
          -- kept up to date on every send and read mark.
          unread_count INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (conversation_id, user_id)
        ) WITHOUT ROWID;
        CREATE INDEX members_by_user ON members (user_id);

        -- A rowid table, because message text reaches 16 KiB by default and
        -- WITHOUT ROWID tables suit small rows only.
        CREATE TABLE messages (
          conversation_id TEXT NOT NULL,
          seq INTEGER NOT NULL,
          message_id TEXT NOT NULL,
          sender_id TEXT NOT NULL,
          sender_device_id TEXT NOT NULL,
          client_message_id TEXT NOT NULL,
          text TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          UNIQUE (conversation_id, seq),
          -- The idempotency key is unique for the lifetime of the data.
          UNIQUE (sender_id, client_message_id)
        );

        CREATE TABLE user_logs (
          user_id TEXT PRIMARY KEY,
          head INTEGER NOT NULL,
          pruned_through INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;

        -- payload is the protobuf encoding of chatwire.v1.Event without its
        -- position, so a reader builds the event from this row alone.
        CREATE TABLE events (
          user_id TEXT NOT NULL,
          position INTEGER NOT NULL,
          created_at INTEGER NOT NULL,
          payload BLOB NOT NULL,
          UNIQUE (user_id, position)
        );
        CREATE INDEX events_by_time ON events (created_at);

        CREATE TABLE devices (
          user_id TEXT NOT NULL,
          device_id TEXT NOT NULL,
          position INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (user_id, device_id)
        ) WITHOUT ROWID;
      `);
      db.prepare("INSERT INTO store_meta (key, value) VALUES ('log_epoch', ?)").run(
        randomBytes(8).toString("hex"),
      );
    },
  },
];

/** Applies every migration newer than the database and returns the schema version. */
export function migrate(db: Database.Database): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const row = db.prepare("SELECT MAX(version) AS version FROM schema_migrations").get() as {
    version: number | null;
  };
  const current = row.version ?? 0;
  const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  if (current > latest) {
    throw new Error(
      `the database has schema version ${current}, newer than this server's ${latest}; ` +
        "run a newer chatwire-server or use another data directory",
    );
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      migration.up(db);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        migration.version,
        migration.name,
        Date.now(),
      );
    }).immediate();
  }
  return latest;
}
