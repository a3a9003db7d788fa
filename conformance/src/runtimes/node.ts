/**
 * The Node runtime: clients built from @chatwire/node (better-sqlite3
 * storage files, Connect over HTTP/2) in the test process, and hosts that
 * run the same client in a child process the scenario can SIGKILL.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { connectHost, type HostChannel } from "./host-connection.js";
import type { HostMessage } from "./host-protocol.js";
import { startNodeClient } from "./node-client.js";
import type { ClientHost, ClientOptions, ClientRuntime, HostExit, RuntimeClient } from "./types.js";

/** Options of createNodeRuntime. */
export interface NodeRuntimeOptions {
  /** Folder for the storage files. Default: a new temporary folder that close() removes. */
  storageDir?: string;
  /** How long a host may take to start, in ms. Default 20,000 (a cold start loads better-sqlite3 and the SDK). */
  hostStartTimeoutMs?: number;
  /** Receives each line a host writes to stderr, prefixed with the host's label. Default: process.stderr. */
  onHostLog?: (line: string) => void;
}

/** Creates the Node runtime. Call close() to stop its clients and hosts and remove its files. */
export async function createNodeRuntime(options: NodeRuntimeOptions = {}): Promise<ClientRuntime & { storagePath(name: string): string }> {
  const ownsDir = options.storageDir === undefined;
  const storageDir = options.storageDir ?? (await mkdtemp(join(tmpdir(), "chatwire-node-runtime-")));
  await mkdir(storageDir, { recursive: true });
  const clients = new Set<RuntimeClient>();
  const hosts = new Set<ClientHost>();
  const storagePath = (name: string) => join(storageDir, `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.sqlite`);

  return {
    name: "node",
    storagePath,

    async createClient(clientOptions: ClientOptions) {
      const { getToken, ...rest } = clientOptions;
      const client = await startNodeClient({ ...rest, storagePath: storagePath(clientOptions.storageName), getToken });
      clients.add(client);
      return {
        ...client,
        close: async () => {
          clients.delete(client);
          await client.close();
        },
      };
    },

    async startHost(clientOptions: ClientOptions) {
      const channel = spawnHost(clientOptions.userId, options.onHostLog);
      const host = await connectHost(
        channel,
        clientOptions,
        storagePath(clientOptions.storageName),
        options.hostStartTimeoutMs ?? 20_000,
      );
      hosts.add(host);
      void host.exited.then(() => hosts.delete(host));
      return host;
    },

    async close() {
      for (const host of hosts) await host.kill();
      for (const client of clients) await client.close().catch(() => undefined);
      clients.clear();
      if (ownsDir) await rm(storageDir, { recursive: true, force: true });
    },
  };
}

/** Starts node-host in a child process, with tsx when running from the TypeScript sources. */
function spawnHost(userId: string, onLog: ((line: string) => void) | undefined): HostChannel {
  const fromSource = import.meta.url.endsWith(".ts");
  const script = fileURLToPath(new URL(fromSource ? "./node-host.ts" : "./node-host.js", import.meta.url));
  const args = fromSource ? ["--import", "tsx", script] : [script];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
  const label = `node host for ${userId} (pid ${child.pid ?? "none"})`;

  const exited = new Promise<HostExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", () => resolve({ code: null, signal: null }));
  });
  const log = onLog ?? ((line: string) => process.stderr.write(`${line}\n`));
  createInterface({ input: child.stderr }).on("line", (line) => log(`[${label}] ${line}`));

  let listener: (message: HostMessage) => void = () => {};
  createInterface({ input: child.stdout }).on("line", (line) => {
    try {
      listener(JSON.parse(line) as HostMessage);
    } catch {
      log(`[${label}] stdout line that is not a host message: ${line.slice(0, 200)}`);
    }
  });
  // Writes after the child died fail with EPIPE; the exit handler reports the death.
  child.stdin.on("error", () => undefined);

  return {
    label,
    exited,
    write: (message) => {
      if (child.exitCode === null && child.signalCode === null) child.stdin.write(`${JSON.stringify(message)}\n`);
    },
    onMessage: (next) => {
      listener = next;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      return exited;
    },
  };
}
