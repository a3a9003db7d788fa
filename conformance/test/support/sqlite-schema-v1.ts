import Database from "better-sqlite3";
import { openSqliteStorage } from "@chatwire/node";
import type { ConversationRecord, MessageRecord, OutboxEntry } from "@chatwire/sdk-core";
import type { PreviousVersionData, PreviousVersionDatabase } from "../../src/storage/contract.js";

/**
 * The tables of schema version 1 of the @chatwire/node storage file, as
 * that version created them, frozen. Never edit this to match a newer
 * schema: it stands for files already on devices, which every later version
 * must open without losing a row.
 */
const schemaV1Sql = `
  CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY NOT NULL,
    description TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
  ) STRICT;

  CREATE TABLE conversations (
    conversation_id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
    title TEXT NOT NULL,
    members_json TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    unread_count INTEGER NOT NULL,
    removed INTEGER NOT NULL CHECK (removed IN (0, 1)),
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX conversations_by_update ON conversations (updated_at DESC, conversation_id);

  CREATE TABLE messages (
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    sender_device_id TEXT NOT NULL,
    client_message_id TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
  ) STRICT;

  CREATE TABLE outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    client_message_id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'failed')),
    attempts INTEGER NOT NULL,
    failure_code TEXT,
    failure_message TEXT,
    failure_reason TEXT
  ) STRICT;
  CREATE INDEX outbox_by_conversation ON outbox (conversation_id, position);

  INSERT INTO schema_version (version, description, applied_at)
  VALUES (1, 'meta, conversations, messages and the outbox', 1750000000000);
`;

/** A fault for the failing-migration test: any new schema version fails as it is recorded, after its SQL ran. */
const injectFaultSql = `
  CREATE TRIGGER reject_schema_upgrade BEFORE INSERT ON schema_version
  BEGIN SELECT RAISE(ABORT, 'injected fault: recording a schema version fails'); END
`;

function withDatabase<T>(path: string, options: Database.Options, run: (db: Database.Database) => T): T {
  const db = new Database(path, options);
  try {
    return run(db);
  } finally {
    db.close();
  }
}

/** Writes the records as version 1 of the adapter stored them: members as JSON, outbox order by position. */
function writeV1Rows(db: Database.Database, data: PreviousVersionData): void {
  const setMeta = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
  const putConversation = db.prepare("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  const putMessage = db.prepare("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  const addOutbox = db.prepare(`
    INSERT INTO outbox (client_message_id, conversation_id, text, created_at, state, attempts,
                        failure_code, failure_message, failure_reason)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  `);

  for (const [key, value] of Object.entries(data.meta)) setMeta.run(key, value);
  for (const record of data.conversations) putConversation.run(...conversationValues(record));
  for (const record of data.messages) putMessage.run(...messageValues(record));
  for (const entry of data.outbox) addOutbox.run(...outboxValues(entry));
}

function conversationValues(record: ConversationRecord): unknown[] {
  const members = record.members.map((member) => ({
    userId: member.userId,
    deliveredSeq: member.deliveredSeq,
    readSeq: member.readSeq,
    joinedAfterSeq: member.joinedAfterSeq,
  }));
  return [
    record.conversationId,
    record.kind,
    record.title,
    JSON.stringify(members),
    record.lastSeq,
    record.unreadCount,
    record.removed ? 1 : 0,
    record.updatedAt,
  ];
}

function messageValues(record: MessageRecord): unknown[] {
  return [
    record.conversationId,
    record.seq,
    record.messageId,
    record.senderId,
    record.senderDeviceId,
    record.clientMessageId,
    record.text,
    record.createdAt,
  ];
}

function outboxValues(entry: OutboxEntry): unknown[] {
  return [
    entry.clientMessageId,
    entry.conversationId,
    entry.text,
    entry.createdAt,
    entry.state,
    entry.attempts,
    entry.failure?.code ?? null,
    entry.failure?.message ?? null,
    entry.failure?.reason ?? null,
  ];
}

/** Returns the schema and every row of every table, in rowid order. */
function dumpDatabase(db: Database.Database): unknown {
  const objects = db
    .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
    .all() as { type: string; name: string; tbl_name: string; sql: string | null }[];
  const rows: Record<string, unknown[]> = {};
  for (const object of objects) {
    if (object.type !== "table") continue;
    const table = `"${object.name.replaceAll('"', '""')}"`;
    rows[object.name] = db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all();
  }
  return { objects, rows };
}

/** Returns the hooks for a @chatwire/node storage file at `path`, created by schema version 1. */
export function sqliteSchemaV1(path: string): PreviousVersionDatabase {
  return {
    async create(data) {
      withDatabase(path, {}, (db) => {
        // Version 1 opened every file in WAL mode too.
        db.pragma("journal_mode = WAL");
        db.transaction(() => {
          db.exec(schemaV1Sql);
          writeV1Rows(db, data);
        })();
      });
    },

    async open() {
      return openSqliteStorage(path);
    },

    async openWithFailingMigration() {
      withDatabase(path, {}, (db) => db.exec(injectFaultSql));
      try {
        return openSqliteStorage(path);
      } finally {
        withDatabase(path, {}, (db) => db.exec("DROP TRIGGER reject_schema_upgrade"));
      }
    },

    async schemaVersion() {
      return withDatabase(path, { readonly: true }, (db) =>
        db.prepare("SELECT MAX(version) FROM schema_version").pluck().get(),
      ) as number;
    },

    async dump() {
      return withDatabase(path, { readonly: true }, dumpDatabase);
    },
  };
}
