import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openSqliteStorage } from "../src/index.js";
import { useTempFiles } from "./helpers.js";

const tempFile = useTempFiles();
const script = fileURLToPath(new URL("./fixtures/commit-then-hang.ts", import.meta.url));
const packageRoot = fileURLToPath(new URL("..", import.meta.url));

/** Runs the child until it reports its commit, then kills it with SIGKILL. */
async function commitThenKill(path: string): Promise<NodeJS.Signals | null> {
  const child = spawn(process.execPath, ["--import", "tsx", script, path], {
    cwd: packageRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_, signal) => resolve(signal)));

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not commit within 20 s; stderr: ${stderr}`)), 20_000);
      child.stdout.on("data", (chunk: Buffer) => {
        if (!chunk.toString().includes("committed")) return;
        clearTimeout(timer);
        child.kill("SIGKILL");
        resolve();
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`child exited with ${code} before committing; stderr: ${stderr}`));
      });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  return exited;
}

describe("SQLite storage after SIGKILL", () => {
  it("keeps the committed entry and drops the open transaction", { timeout: 30_000 }, async () => {
    const path = await tempFile();

    const signal = await commitThenKill(path);

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
