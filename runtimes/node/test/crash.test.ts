import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openSqliteStorage } from "../src/index.js";
import { useTempFiles } from "./helpers.js";
import { runUntilThenKill } from "./kill-child.js";

const tempFile = useTempFiles();
const script = fileURLToPath(new URL("./fixtures/commit-then-hang.ts", import.meta.url));

describe("SQLite storage after SIGKILL", () => {
  it("keeps the committed entry and drops the open transaction", { timeout: 30_000 }, async () => {
    const path = await tempFile();

    const signal = await runUntilThenKill(script, [path], "committed");

    expect(signal).toBe("SIGKILL");
    const storage = openSqliteStorage(path);
    const ids = await storage.transaction("readonly", async (tx) =>
      (await tx.listOutbox()).map((entry) => entry.clientMessageId),
    );
    // The killed process held the write lock; a new write shows it is gone.
    await storage.transaction("readwrite", (tx) => tx.setMeta("cursor", "after-crash"));
    await storage.close();
    expect(ids).toEqual(["committed"]);
  });
});
