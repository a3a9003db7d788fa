import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createNodeChatClient, openSqliteStorage } from "../src/index.js";
import { useTempFiles } from "./helpers.js";

const tempFile = useTempFiles();

// A client that is never started makes no call, so this address is never used.
const baseUrl = "http://127.0.0.1:9";

describe("createNodeChatClient", () => {
  it("constructs a client on a new storage file", async () => {
    const databasePath = await tempFile();

    const client = createNodeChatClient({ baseUrl, databasePath, userId: "alice", getToken: async () => "token" });

    expect(client.connectionState).toBeDefined();
    expect(existsSync(databasePath)).toBe(true);
    await client.close();
  });

  it("closes the storage file on close", async () => {
    const databasePath = await tempFile();
    const client = createNodeChatClient({ baseUrl, databasePath, userId: "alice", getToken: async () => "token" });

    await client.close();

    // The write-ahead log is removed only when the last connection closes.
    expect(existsSync(`${databasePath}-wal`)).toBe(false);
    const storage = openSqliteStorage(databasePath);
    await expect(storage.transaction("readonly", (tx) => tx.listOutbox())).resolves.toEqual([]);
    await storage.close();
  });

  it("closes the storage when the options are invalid", async () => {
    const databasePath = await tempFile();

    expect(() =>
      createNodeChatClient({ baseUrl, databasePath, userId: "", getToken: async () => "token" }),
    ).toThrow("options.userId is empty");

    await new Promise((resolve) => setImmediate(resolve));
    expect(existsSync(`${databasePath}-wal`)).toBe(false);
  });
});
