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
import { startNodeClient, type NodeClientSpec } from "./node-client.js";
import type { Claim } from "../tags.js";
import type { ClientHost, ClientOptions, ClientRuntime, HostExit, RuntimeClient } from "./types.js";

/** Options of createNodeRuntime. */
export interface NodeRuntimeOptions {
  /** Folder for the storage files. Default: a new temporary folder that close() removes. */
  storageDir?: string;
  /** How long a host may take to start, in ms. Default 20,000 (a cold start loads better-sqlite3 and the SDK). */
  hostStartTimeoutMs?: number;
  /** Receives each line a host writes to stderr, prefixed with the host's label. Default: process.stderr. */
  onHostLog?: (line: string) => void;
  /** Name in test titles and reports. Default "node". */
  name?: string;
  /** The runtime's claim. Default: NODE_CLAIM, named after `name`. */
  claim?: Claim;
  /**
   * Starts a client in this process. Default startNodeClient: the client an
   * app builds from @chatwire/node. Set it with hostScript to test a
   * modified client.
   */
  startClient?: (spec: NodeClientSpec) => Promise<RuntimeClient>;
  /**
   * Absolute path of the script a host process runs. It must call
   * serveNodeHost, normally with the same client as startClient. A `.ts`
   * file runs with tsx. Default: this runtime's node-host script.
   */
  hostScript?: string;
  /** Arguments after hostScript on the host's command line. Default: none. */
  hostArgs?: readonly string[];
}

/**
 * The Node runtime's claim. Push is left out because no push service
 * reaches a Node process: the SDK's wake-up entry point is there, but
 * nothing here delivers a push to trigger it.
 */
export const NODE_CLAIM: Claim = {
  name: "node",
  profiles: ["core", "offline", "multi-device", "multi-node"],
  gaps: [{ profile: "push", reason: "no push service delivers wake-ups to a Node process" }],
};

/** Creates the Node runtime. Call close() to stop its clients and hosts and remove its files. */
export async function createNodeRuntime(options: NodeRuntimeOptions = {}): Promise<ClientRuntime & { storagePath(name: string): string }> {
  const ownsDir = options.storageDir === undefined;
  const storageDir = options.storageDir ?? (await mkdtemp(join(tmpdir(), "chatwire-node-runtime-")));
  await mkdir(storageDir, { recursive: true });
  const clients = new Set<RuntimeClient>();
  const hosts = new Set<ClientHost>();
  const storagePath = (name: string) => join(storageDir, `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.sqlite`);

  const name = options.name ?? "node";
  const startClient = options.startClient ?? startNodeClient;
  return {
    name,
    claim: options.claim ?? { ...NODE_CLAIM, name },
    storagePath,

    async createClient(clientOptions: ClientOptions) {
      const { getToken, ...rest } = clientOptions;
      const client = await startClient({ ...rest, storagePath: storagePath(clientOptions.storageName), getToken });
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
      const channel = spawnHost(clientOptions.userId, options, options.onHostLog);
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

/** Starts a host script in a child process, with tsx for a TypeScript file. */
function spawnHost(
  userId: string,
  host: Pick<NodeRuntimeOptions, "hostScript" | "hostArgs">,
  onLog: ((line: string) => void) | undefined,
): HostChannel {
  const fromSource = import.meta.url.endsWith(".ts");
  const script = host.hostScript ?? fileURLToPath(new URL(fromSource ? "./node-host.ts" : "./node-host.js", import.meta.url));
  const args = [...(script.endsWith(".ts") ? ["--import", "tsx"] : []), script, ...(host.hostArgs ?? [])];
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
