/**
 * Server memory per idle Subscribe stream: opens `count` streams, one HTTP/2
 * connection per user as real clients have, and compares the server's heap
 * and resident memory before and after (both read from /metrics after a GC).
 *
 *   npx tsx server/bench/idle-streams.ts [count=2000]
 */
import { spawn } from "node:child_process";
import { setMaxListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ChatService } from "@chatwire/gen";
import { mintToken } from "../src/index.js";

const count = Number(process.argv[2] ?? 2000);
const SECRET = "bench-secret-with-at-least-32-bytes!!";
const dataDir = mkdtempSync(join(tmpdir(), "chatwire-idle-"));
const bin = fileURLToPath(new URL("../bin/chatwire-server.ts", import.meta.url));
const server = spawn(
  process.execPath,
  ["--expose-gc", "--import", "tsx", bin, "--port", "0", "--data-dir", dataDir, "--rate-limit", "0", "--max-streams-per-user", String(count)],
  { env: { ...process.env, CHATWIRE_JWT_SECRET: SECRET }, stdio: ["ignore", "pipe", "inherit"] },
);
const url = await new Promise<string>((resolve) => {
  let output = "";
  server.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    const match = /"url":"(http:[^"]+)"/.exec(output);
    if (match?.[1] !== undefined) resolve(match[1]);
  });
});

async function memory() {
  // Several scrapes let the heap settle; --expose-gc alone does not collect.
  let text = "";
  for (let index = 0; index < 3; index++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    text = await (await fetch(`${url}/metrics`)).text();
  }
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1]);
  return { heap: value("chatwire_nodejs_heap_size_used_bytes"), rss: value("chatwire_process_resident_memory_bytes") };
}

const abort = new AbortController();
setMaxListeners(0, abort.signal);
const before = await memory();
let heartbeats = 0;
let sharedChat: ReturnType<typeof createClient<typeof ChatService>> | undefined;
// SHARED_CONNECTION=1 opens every stream on one connection, which separates
// the cost of a stream from the cost of an HTTP/2 session.
const shared = process.env.SHARED_CONNECTION === "1";
for (let index = 0; index < count; index++) {
  const token = await mintToken({ secret: SECRET, userId: shared ? "idle" : `idle${index}`, ttlSeconds: 3600 });
  const transport = createConnectTransport({
    baseUrl: url,
    httpVersion: "2",
    useBinaryFormat: true,
    interceptors: [(next) => (request) => (request.header.set("authorization", `Bearer ${token}`), next(request))],
  });
  sharedChat ??= createClient(ChatService, transport);
  const chat = shared ? sharedChat : createClient(ChatService, transport);
  void (async () => {
    for await (const frame of chat.subscribe({ deviceId: "d" }, { signal: abort.signal })) {
      if (frame.kind.case === "heartbeat") heartbeats++;
    }
  })().catch(() => {});
}
while (heartbeats < count) await new Promise((resolve) => setTimeout(resolve, 50));
const after = await memory();
console.log(
  JSON.stringify({
    streams: count,
    sharedConnection: shared,
    heapPerStreamKiB: Number(((after.heap - before.heap) / count / 1024).toFixed(1)),
    rssPerStreamKiB: Number(((after.rss - before.rss) / count / 1024).toFixed(1)),
  }),
);
abort.abort();
server.kill("SIGTERM");
await new Promise((resolve) => server.once("exit", resolve));
rmSync(dataDir, { recursive: true, force: true });
