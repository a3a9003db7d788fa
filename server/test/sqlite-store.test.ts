import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { describeStoreContract } from "./store-contract.js";
import { tempDir } from "./support/server.js";

const dir = tempDir("chatwire-store-");
afterAll(() => dir.remove());
let count = 0;

describeStoreContract("sqlite", (observer) => openSqliteStore({ path: join(dir.path, `store-${count++}.sqlite`), observer }));

describe("SQLite store", () => {
  it("keeps its log epoch and data across reopening", async () => {
    const path = join(dir.path, "reopen.sqlite");
    const first = openSqliteStore({ path });
    const epoch = first.logEpoch;
    await first.close();
    const second = openSqliteStore({ path });
    expect(second.logEpoch).toBe(epoch);
    await second.close();
  });

  it("records its schema version", async () => {
    const path = join(dir.path, "schema.sqlite");
    await openSqliteStore({ path }).close();
    const db = new Database(path, { readonly: true });
    const versions = db.prepare("SELECT version FROM schema_migrations").pluck().all();
    const journal = db.pragma("journal_mode", { simple: true });
    db.close();
    expect(versions).toEqual([1]);
    expect(journal).toBe("wal");
  });

  it("rejects a second store on the same file", async () => {
    const path = join(dir.path, "locked.sqlite");
    const first = openSqliteStore({ path });
    expect(() => openSqliteStore({ path })).toThrow(/locked/);
    await first.close();
  });

  it("rejects writes after close", async () => {
    const store = openSqliteStore({ path: join(dir.path, "closed.sqlite") });
    await store.close();
    await expect(store.logBounds("alice")).rejects.toThrow(/shutting down/);
  });
});
