import type Database from "better-sqlite3";

/**
 * One step of the storage file's schema. Versions start at 1 and increase by
 * one; a file records every version applied to it in `schema_version`.
 *
 * Rules for adding a version: append a new entry, never edit an entry that
 * has shipped, and never drop the outbox table or rewrite its rows, because
 * they are messages that `send()` already accepted. Add columns with
 * `ALTER TABLE ... ADD COLUMN` and copy data forward when a table must change.
 */
export interface Migration {
  version: number;
  /** What the version changes, kept in the file for whoever inspects it. */
  description: string;
  sql: string;
}

/**
 * Every schema version in order. Tables are STRICT so that a value of the
 * wrong type (a fractional seq, a string in a counter) fails the write instead
 * of being stored as something the reader does not expect.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: "meta, conversations, messages and the outbox",
    sql: `
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

      -- position only grows (AUTOINCREMENT never reuses a value), so listing by
      -- it keeps the order in which entries were added across updates and deletes.
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
    `,
  },
  {
    version: 2,
    description: "read marks the server has not acknowledged yet",
    sql: `
      CREATE TABLE pending_read_marks (
        conversation_id TEXT PRIMARY KEY NOT NULL,
        read_seq INTEGER NOT NULL CHECK (read_seq >= 0)
      ) STRICT;
    `,
  },
];

/** The schema version this build of the adapter writes. */
export const latestSchemaVersion = migrations.length;

/**
 * Brings the file to the last version of `list` in one transaction, so a
 * crash during an upgrade leaves the file at its old version. Rejects a file
 * written by a newer schema than `list` knows, because this build would
 * misread it. Returns the version the file had before.
 */
export function migrate(db: Database.Database, list: readonly Migration[] = migrations): number {
  checkMigrationList(list);
  const target = list.at(-1)?.version ?? 0;

  const run = db.transaction((): number => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS schema_version (
        version INTEGER PRIMARY KEY NOT NULL,
        description TEXT NOT NULL,
        applied_at INTEGER NOT NULL
      ) STRICT
    `);
    const row = db.prepare("SELECT MAX(version) AS version FROM schema_version").get() as {
      version: number | null;
    };
    const current = row.version ?? 0;
    if (current > target) {
      throw new Error(
        `storage file ${db.name} has schema version ${current}, but this version of @chatwire/node ` +
          `supports up to schema version ${target}; upgrade @chatwire/node or open another file`,
      );
    }

    const record = db.prepare(
      "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
    );
    for (const migration of list) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.description, Date.now());
    }
    return current;
  });

  // IMMEDIATE takes the write lock before reading the version, so two
  // processes opening the same new file do not both try to create the tables.
  return run.immediate();
}

function checkMigrationList(list: readonly Migration[]): void {
  list.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(
        `schema migration at index ${index} has version ${migration.version}, expected ${index + 1}; ` +
          "versions must start at 1 and increase by one",
      );
    }
  });
}
