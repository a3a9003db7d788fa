import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A reference chatwire server in development mode, in a child process on 127.0.0.1. */
export interface DevServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Returns a bearer token for `userId` from the server's development token route. */
  token(userId: string): Promise<string>;
  /** Stops the server with SIGTERM (SIGKILL after 5 s) and removes its data folder. */
  stop(): Promise<void>;
}

const serverBin = fileURLToPath(new URL("../../../server/dist/bin/chatwire-server.js", import.meta.url));

/**
 * Starts the built reference server with `--dev --port 0` and resolves with
 * its address once it logs that it listens. The tests of this package import
 * nothing from the server, so it must be built first.
 */
export async function startDevServer(): Promise<DevServer> {
  if (!existsSync(serverBin)) {
    throw new Error(`server entry point ${serverBin} not found; build it first with npx tsc -b tsconfig.build.json`);
  }
  const dataDir = await mkdtemp(join(tmpdir(), "chatwire-node-server-"));
  const child = spawn(
    process.execPath,
    [serverBin, "--dev", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  let url: string;
  try {
    url = await waitForAddress(child);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }

  return {
    url,
    async token(userId) {
      const response = await fetch(`${url}/dev/token?user=${encodeURIComponent(userId)}`);
      if (!response.ok) throw new Error(`GET /dev/token for ${userId} failed with HTTP ${response.status}`);
      return ((await response.json()) as { token: string }).token;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Reads the server's log lines until one names the address it listens on. */
function waitForAddress(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`server did not start within 20 s; output:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /connect clients to (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      resolve(match[1]!);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before it listened; output:\n${output}`));
    });
  });
}
