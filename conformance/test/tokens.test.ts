// The token-command hook of the server suite, run with real shell commands:
// the error message of a failing command, and that a command past its
// timeout is killed together with the processes it started.
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTokenMinter } from "../src/server-suite/tokens.js";

/** Returns whether a process with `pid` runs; a zombie that no parent has reaped yet counts as ended. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Linux: the state letter follows the command name in parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/** Resolves once `condition` holds, or fails after `timeoutMs`. */
async function waitUntil(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "chatwire-tokens-"));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("token command", () => {
  it("returns the token it prints", async () => {
    const minter = createTokenMinter({ command: 'printf " token-for-%s \\n" "$CHATWIRE_USER_ID"' });

    await expect(minter.token("alice")).resolves.toBe("token-for-alice");
  });

  it("puts the last stderr line of a failure on the first line", async () => {
    const minter = createTokenMinter({ command: "echo 'first line' >&2; echo 'identity provider returned 503' >&2; exit 1" });

    const error = await minter.token("alice").then(
      () => undefined,
      (rejection: unknown) => rejection as Error,
    );
    expect(error).toBeInstanceOf(Error);
    const [firstLine, ...rest] = error!.message.split("\n");
    expect(firstLine).toMatch(/ for user alice with TTL 3600 s failed with exit code 1: identity provider returned 503$/);
    expect(rest).toEqual(["its stderr ends with:", "first line", "identity provider returned 503"]);
  });

  it("says when a failing command wrote nothing on stderr", async () => {
    const minter = createTokenMinter({ command: "exit 4" });

    await expect(minter.token("alice")).rejects.toThrow(/failed with exit code 4 and wrote nothing on stderr$/);
  });

  it("ends the processes a timed-out command started", async () => {
    const pidFile = join(folder, "sleep.pid");
    const minter = createTokenMinter({ command: `sleep 30 & echo $! > "${pidFile}"; wait`, timeoutMs: 500 });

    await expect(minter.token("alice")).rejects.toThrow(/did not exit within 500 ms/);
    const pid = Number((await readFile(pidFile, "utf8")).trim());
    expect(pid).toBeGreaterThan(0);
    await waitUntil(`process ${pid} to end`, () => !isRunning(pid), 2_000);
  });
});
