import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStorage } from "@chatwire/node";
import { createMemoryStorage } from "@chatwire/sdk-core/memory";
import { describeStorageContract } from "../src/storage/contract.js";
import { sqliteSchemaV1 } from "./support/sqlite-schema-v1.js";

describeStorageContract("node sqlite", async () => {
  const directory = await mkdtemp(join(tmpdir(), "chatwire-storage-"));
  const path = join(directory, "chat.db");
  return {
    storage: openSqliteStorage(path),
    reopen: async () => openSqliteStorage(path),
    previousVersion: sqliteSchemaV1(join(directory, "schema-v1.db")),
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
});

describeStorageContract("memory", async () => ({
  storage: createMemoryStorage(),
  cleanup: async () => {},
}));
