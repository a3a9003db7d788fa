import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { OutboxEntry, StorageTransaction } from "@chatwire/sdk-core";
import { openSqliteStorage } from "../src/index.js";
import { openDatabase } from "../src/storage/database.js";
import { useTempFiles } from "./helpers.js";

const tempFile = useTempFiles();

const entry = (clientMessageId: string): OutboxEntry => ({
  clientMessageId,
  conversationId: "group:launch",
  text: "hello",
  createdAt: 1_750_000_000_000,
  state: "queued",
  attempts: 0,
});

describe("openSqliteStorage", () => {
  it("puts the file in WAL mode", async () => {
    const path = await tempFile();
    const storage = openSqliteStorage(path);

    const other = new Database(path, { readonly: true });
    const journalMode = other.pragma("journal_mode", { simple: true });
    other.close();
    await storage.close();

    expect(journalMode).toBe("wal");
  });

  it("syncs every commit unless told otherwise", async () => {
    // PRAGMA synchronous values: 1 is NORMAL, 2 is FULL.
    const full = openDatabase(await tempFile(), "full");
    const normal = openDatabase(await tempFile(), "normal");

    expect(full.pragma("synchronous", { simple: true })).toBe(2);
    expect(normal.pragma("synchronous", { simple: true })).toBe(1);
    full.close();
    normal.close();
  });

  it("rejects an unknown synchronous option", async () => {
    const path = await tempFile();

    expect(() => openSqliteStorage(path, { synchronous: "off" as "full" })).toThrow(
      'synchronous is "off"; use "full" or "normal"',
    );
  });

  it("rejects a file that is not a database", async () => {
    const path = await tempFile();
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path, "not a database, just text ".repeat(100));

    expect(() => openSqliteStorage(path)).toThrow(/not a database/);
  });
});

describe("SQLite transactions", () => {
  it("reject a tx used after its commit", async () => {
    const storage = openSqliteStorage(await tempFile());
    let leaked: StorageTransaction | undefined;
    await storage.transaction("readwrite", async (tx) => {
      leaked = tx;
    });

    await expect(leaked!.getMeta("cursor")).rejects.toThrow(
      "getMeta() was called on a storage transaction that already ended",
    );
    await storage.close();
  });

  it("reject a tx used after its rollback", async () => {
    const storage = openSqliteStorage(await tempFile());
    let leaked: StorageTransaction | undefined;
    await storage
      .transaction("readwrite", async (tx) => {
        leaked = tx;
        throw new Error("roll back");
      })
      .catch(() => undefined);

    await expect(leaked!.addOutbox(entry("id-1"))).rejects.toThrow(
      "addOutbox() was called on a storage transaction that already ended",
    );
    await storage.close();
  });

  it("keep a stale tx out of the running transaction", async () => {
    const storage = openSqliteStorage(await tempFile());
    let leaked: StorageTransaction | undefined;
    await storage.transaction("readonly", async (tx) => {
      leaked = tx;
    });

    await storage.transaction("readwrite", async (tx) => {
      await tx.setMeta("cursor", "from-current");
      await expect(leaked!.setMeta("cursor", "from-stale")).rejects.toThrow(/already ended/);
    });

    const cursor = await storage.transaction("readonly", (tx) => tx.getMeta("cursor"));
    await storage.close();
    expect(cursor).toBe("from-current");
  });

  it("reject writes in a readonly transaction", async () => {
    const storage = openSqliteStorage(await tempFile());

    const attempt = storage.transaction("readonly", (tx) => tx.addOutbox(entry("id-1")));

    await expect(attempt).rejects.toThrow(
      'addOutbox() writes, but this storage transaction is readonly; open it with transaction("readwrite", ...)',
    );
    const listed = await storage.transaction("readonly", (tx) => tx.listOutbox());
    await storage.close();
    expect(listed).toEqual([]);
  });

  it("reject an unknown mode", async () => {
    const storage = openSqliteStorage(await tempFile());

    const attempt = storage.transaction("write" as "readwrite", async () => "ran");

    await expect(attempt).rejects.toThrow('transaction mode is "write"; use "readonly" or "readwrite"');
    await storage.close();
  });

  it("commit an operation that was not awaited", async () => {
    const storage = openSqliteStorage(await tempFile());

    // The operation runs at the call, so the commit includes it.
    await storage.transaction("readwrite", async (tx) => {
      void tx.setMeta("cursor", "not awaited");
    });

    const cursor = await storage.transaction("readonly", (tx) => tx.getMeta("cursor"));
    await storage.close();
    expect(cursor).toBe("not awaited");
  });
});

describe("SQLite operation errors", () => {
  it("name the duplicate clientMessageId", async () => {
    const storage = openSqliteStorage(await tempFile());
    await storage.transaction("readwrite", (tx) => tx.addOutbox(entry("0197a000-dup")));

    const attempt = storage.transaction("readwrite", (tx) => tx.addOutbox(entry("0197a000-dup")));

    await expect(attempt).rejects.toThrow(
      'the outbox already has an entry with clientMessageId "0197a000-dup"',
    );
    await storage.close();
  });

  it("name the missing clientMessageId on update", async () => {
    const storage = openSqliteStorage(await tempFile());

    const attempt = storage.transaction("readwrite", (tx) => tx.updateOutbox(entry("0197a000-missing")));

    await expect(attempt).rejects.toThrow(
      'the outbox has no entry with clientMessageId "0197a000-missing" to update; add it with addOutbox() first',
    );
    await storage.close();
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("reject getMessages limit %s", async (limit) => {
    const storage = openSqliteStorage(await tempFile());

    const attempt = storage.transaction("readonly", (tx) => tx.getMessages("group:launch", { limit }));

    await expect(attempt).rejects.toThrow(`getMessages() limit is ${limit}; it must be an integer of 0 or more`);
    await storage.close();
  });

  it("reject a fractional seq and store nothing of the batch", async () => {
    const storage = openSqliteStorage(await tempFile());
    const message = {
      conversationId: "group:launch",
      messageId: "m",
      senderId: "alice",
      senderDeviceId: "d",
      clientMessageId: "c",
      text: "t",
      createdAt: 1,
    };

    const attempt = storage.transaction("readwrite", (tx) =>
      tx.putMessages([
        { ...message, seq: 1 },
        { ...message, seq: 2.5 },
      ]),
    );

    await expect(attempt).rejects.toThrow(/cannot store REAL value in INTEGER column messages.seq/);
    const stored = await storage.transaction("readonly", (tx) => tx.getMessages("group:launch", { limit: 10 }));
    await storage.close();
    expect(stored).toEqual([]);
  });
});

describe("SQLite records", () => {
  it("name a conversation whose members JSON is damaged", async () => {
    const path = await tempFile();
    await openSqliteStorage(path).close();
    const other = new Database(path);
    other
      .prepare("INSERT INTO conversations VALUES ('group:broken', 'group', '', '[{', 0, 0, 0, 0)")
      .run();
    other.close();
    const storage = openSqliteStorage(path);

    const attempt = storage.transaction("readonly", (tx) => tx.getConversation("group:broken"));

    await expect(attempt).rejects.toThrow("conversation group:broken has invalid members JSON");
    await storage.close();
  });
});

describe("SQLite close", () => {
  it("rejects transactions requested after it", async () => {
    const path = await tempFile();
    const storage = openSqliteStorage(path);

    await storage.close();

    await expect(storage.transaction("readonly", (tx) => tx.listOutbox())).rejects.toThrow(
      `storage file ${path} is closed; open it again to run a transaction`,
    );
  });

  it("can be called twice", async () => {
    const storage = openSqliteStorage(await tempFile());

    await storage.close();

    await expect(storage.close()).resolves.toBeUndefined();
  });

  it("checkpoints and removes the write-ahead log", async () => {
    const path = await tempFile();
    const storage = openSqliteStorage(path);
    await storage.transaction("readwrite", (tx) => tx.addOutbox(entry("id-1")));
    expect(existsSync(`${path}-wal`), "log while open").toBe(true);

    await storage.close();

    // SQLite deletes the log when the last connection closes cleanly.
    expect(existsSync(`${path}-wal`), "log after close").toBe(false);
    const other = new Database(path, { readonly: true });
    const count = other.prepare("SELECT COUNT(*) FROM outbox").pluck().get();
    other.close();
    expect(count).toBe(1);
  });
});
