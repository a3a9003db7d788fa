import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openSqliteStorage } from "../src/index.js";
import { latestSchemaVersion, migrate, migrations, type Migration } from "../src/storage/schema.js";
import { schemaV1Sql } from "./fixtures/schema-v1.js";
import { useTempFiles } from "./helpers.js";

const tempFile = useTempFiles();

async function createV1File(): Promise<string> {
  const path = await tempFile();
  const db = new Database(path);
  db.exec(schemaV1Sql);
  db.close();
  return path;
}

/** Tables, columns, indexes and their SQL with whitespace collapsed, to compare two files. */
function schemaOf(path: string): unknown {
  const db = new Database(path, { readonly: true });
  try {
    const objects = db
      .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
      .all() as { type: string; name: string; tbl_name: string; sql: string | null }[];
    return objects.map((object) => ({
      ...object,
      sql: object.sql?.replace(/\s+/g, " ").replace(/\( /g, "(").replace(/ \)/g, ")").trim(),
      columns: object.type === "table" ? db.pragma(`table_xinfo(${object.name})`) : undefined,
    }));
  } finally {
    db.close();
  }
}

function versionsOf(path: string): number[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT version FROM schema_version ORDER BY version").pluck().all() as number[];
  } finally {
    db.close();
  }
}

describe("schema migrations", () => {
  it("list versions from 1 without gaps", () => {
    expect(migrations.map((migration) => migration.version)).toEqual(
      Array.from({ length: latestSchemaVersion }, (_, index) => index + 1),
    );
  });

  it("create a new file at the latest version", async () => {
    const path = await tempFile();

    await openSqliteStorage(path).close();

    expect(versionsOf(path)).toEqual(migrations.map((migration) => migration.version));
  });

  describe("a file written by schema version 1", () => {
    it("opens with every record intact", async () => {
      const path = await createV1File();

      const storage = openSqliteStorage(path);
      const stored = await storage.transaction("readonly", async (tx) => ({
        userId: await tx.getMeta("userId"),
        deviceId: await tx.getMeta("deviceId"),
        cursor: await tx.getMeta("cursor"),
        conversation: await tx.getConversation("group:launch"),
        messages: await tx.getMessages("group:launch", { limit: 10 }),
        outbox: await tx.listOutbox(),
        pendingReadMarks: await tx.listPendingReadMarks(),
      }));
      await storage.close();

      expect(stored.userId).toBe("alice");
      expect(stored.deviceId).toBe("device-1");
      expect(stored.cursor).toBe("c-42");
      expect(stored.conversation?.members.map((member) => member.readSeq)).toEqual([2, 1]);
      expect(stored.messages.map((message) => message.text)).toEqual(["first", "Zoe\u0301 says hi 👋🏽"]);
      expect(stored.pendingReadMarks).toEqual([]);
      expect(stored.outbox).toStrictEqual([
        {
          clientMessageId: "out-1",
          conversationId: "group:launch",
          text: "queued first",
          createdAt: 1750000003000,
          state: "queued",
          attempts: 0,
        },
        {
          clientMessageId: "out-2",
          conversationId: "group:launch",
          text: "failed second",
          createdAt: 1750000004000,
          state: "failed",
          attempts: 3,
          failure: {
            code: "invalid_argument",
            message: "text is 4,097 bytes; the limit is 4,096",
            reason: "TEXT_TOO_LONG",
          },
        },
        {
          clientMessageId: "out-4",
          conversationId: "direct:alice-bob",
          text: "queued fourth",
          createdAt: 1750000006000,
          state: "queued",
          attempts: 2,
        },
      ]);
    });

    it("reaches the latest version with a new file's schema", async () => {
      const migrated = await createV1File();
      const fresh = await tempFile();

      await openSqliteStorage(migrated).close();
      await openSqliteStorage(fresh).close();

      expect(versionsOf(migrated)).toEqual(versionsOf(fresh));
      expect(schemaOf(migrated)).toEqual(schemaOf(fresh));
    });

    it("appends new outbox entries after the old ones", async () => {
      const path = await createV1File();

      const storage = openSqliteStorage(path);
      const ids = await storage.transaction("readwrite", async (tx) => {
        await tx.addOutbox({
          clientMessageId: "out-5",
          conversationId: "group:launch",
          text: "added after the upgrade",
          createdAt: 1750000007000,
          state: "queued",
          attempts: 0,
        });
        return (await tx.listOutbox()).map((entry) => entry.clientMessageId);
      });
      await storage.close();

      expect(ids).toEqual(["out-1", "out-2", "out-4", "out-5"]);
    });
  });

  describe("a following version", () => {
    const following = latestSchemaVersion + 1;
    const nextVersion: Migration = {
      version: following,
      description: "outbox priority",
      sql: "ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",
    };
    const allVersions = Array.from({ length: following }, (_, index) => index + 1);

    it("applies on top of version 1 and keeps the outbox rows", async () => {
      const path = await createV1File();
      const db = new Database(path);
      const before = db.prepare("SELECT * FROM outbox ORDER BY position").all();

      const previous = migrate(db, [...migrations, nextVersion]);

      const after = db
        .prepare(`SELECT ${Object.keys(before[0] as object).join(", ")} FROM outbox ORDER BY position`)
        .all();
      db.close();
      expect(previous).toBe(1);
      expect(after).toEqual(before);
      expect(versionsOf(path)).toEqual(allVersions);
    });

    it("leaves the file at its old version when it fails", async () => {
      const path = await createV1File();
      const db = new Database(path);
      const broken: Migration = {
        version: following,
        description: "fails halfway",
        sql: "ALTER TABLE outbox ADD COLUMN priority INTEGER; CREATE TABLE meta (key TEXT)",
      };

      expect(() => migrate(db, [...migrations, broken])).toThrow(/table meta already exists/);

      const columns = (db.pragma("table_info(outbox)") as { name: string }[]).map((column) => column.name);
      const outboxRows = db.prepare("SELECT COUNT(*) FROM outbox").pluck().get();
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
      db.close();
      expect(columns).not.toContain("priority");
      expect(outboxRows).toBe(3);
      // The versions between 1 and the broken one are rolled back with it.
      expect(tables).toEqual(["conversations", "messages", "meta", "outbox", "schema_version", "sqlite_sequence"]);
      expect(versionsOf(path)).toEqual([1]);
    });

    it("makes this version reject the file, naming both versions", async () => {
      const path = await createV1File();
      const db = new Database(path);
      migrate(db, [...migrations, nextVersion, { ...nextVersion, version: following + 1, sql: "SELECT 1" }]);
      db.close();

      expect(() => openSqliteStorage(path)).toThrow(
        `storage file ${path} has schema version ${following + 1}, but this version of @chatwire/node supports up to schema version ${latestSchemaVersion}`,
      );
      // Rejecting must not change the file.
      expect(versionsOf(path)).toEqual([...allVersions, following + 1]);
    });
  });

  it("reject a list with a gap in versions", async () => {
    const db = new Database(await tempFile());
    const list = [...migrations, { version: latestSchemaVersion + 2, description: "gap", sql: "SELECT 1" }];

    expect(() => migrate(db, list)).toThrow(
      `schema migration at index ${latestSchemaVersion} has version ${latestSchemaVersion + 2}, expected ${latestSchemaVersion + 1}`,
    );
    db.close();
  });
});
