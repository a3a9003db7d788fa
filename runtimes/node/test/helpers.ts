import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

/** Returns a function that makes a fresh storage file path; the folders are removed after each test. */
export function useTempFiles(): () => Promise<string> {
  const directories: string[] = [];
  afterEach(async () => {
    await Promise.all(directories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const directory = await mkdtemp(join(tmpdir(), "chatwire-node-"));
    directories.push(directory);
    return join(directory, "chat.db");
  };
}
