import Database from "better-sqlite3";
import { openSqliteStorage } from "@chatwire/node";
import type { ConversationRecord, MessageRecord, OutboxEntry } from "@chatwire/sdk-core";
import type { PreviousVersionData, PreviousVersionDatabase } from "../../src/storage/contract.js";
// The frozen version 1 tables of the Node adapter's file, shared with its own migration test.
import { schemaV1Tables } from "../../../runtimes/node/test/fixtures/schema-v1.js";

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
          db.exec(schemaV1Tables);
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
