/**
 * Quick throughput check of SendMessage with group commit.
 *
 * Starts chatwire-server as a child process (its own core), opens one
 * Subscribe stream per recipient, then keeps `concurrency` SendMessage calls
 * in flight for `seconds`, one HTTP/2 connection per user. Prints messages
 * committed per second and message events delivered per second.
 *
 *   npx tsx server/bench/throughput.ts [seconds=10] [concurrency=256] [synchronous=full] [conversations=64] [members=2]
 *
 * With members > 2 each conversation is a group, and every committed message
 * is delivered to every member's stream, the sender's included.
 *
 * The load generator shares the machine with the server, so the numbers are
 * a lower bound for a server with the machine to itself.
 */
import { spawn } from "node:child_process";
import { setMaxListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ChatService, ConversationKind, ConversationService } from "@chatwire/gen";
import { mintToken } from "../src/index.js";
import { uuidV7 } from "../src/ids.js";

const seconds = Number(process.argv[2] ?? 10);
const concurrency = Number(process.argv[3] ?? 256);
const synchronous = process.argv[4] ?? "full";
const CONVERSATIONS = Number(process.argv[5] ?? 64);
const MEMBERS = Number(process.argv[6] ?? 2);
const SECRET = "bench-secret-with-at-least-32-bytes!!";

const dataDir = mkdtempSync(join(tmpdir(), "chatwire-bench-"));
const bin = fileURLToPath(new URL("../bin/chatwire-server.ts", import.meta.url));
const server = spawn(
  process.execPath,
  [...(process.env.CPU_PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.CPU_PROF_DIR}`] : []), "--import", "tsx", bin, "--port", "0", "--data-dir", dataDir, "--rate-limit", "0", "--log-level", "info", "--sqlite-synchronous", synchronous],
  { env: { ...process.env, CHATWIRE_JWT_SECRET: SECRET }, stdio: ["ignore", "pipe", "inherit"] },
);
const url = await new Promise<string>((resolve, reject) => {
  let output = "";
  const timer = setTimeout(() => reject(new Error("server did not start within 20 s")), 20_000);
  server.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    const match = /"url":"(http:[^"]+)"/.exec(output);
    if (match?.[1] !== undefined) {
      clearTimeout(timer);
      resolve(match[1]);
    }
  });
});

const bearer =
  (token: string): Interceptor =>
  (next) =>
  (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };

async function clientsFor(userId: string) {
  const token = await mintToken({ secret: SECRET, userId, ttlSeconds: 3600 });
  const transport = createConnectTransport({
    baseUrl: url,
    httpVersion: "2",
    useBinaryFormat: true,
    interceptors: [bearer(token)],
    idleConnectionTimeoutMs: 60_000,
  });
  return { chat: createClient(ChatService, transport), conversations: createClient(ConversationService, transport) };
}

// Each conversation has one sending user and MEMBERS - 1 receiving users.
const pairs = await Promise.all(
  Array.from({ length: CONVERSATIONS }, async (_, index) => {
    const sender = await clientsFor(`sender${index}`);
    const others = Array.from({ length: MEMBERS - 1 }, (_, member) => `member${index}-${member}`);
    const recipients = await Promise.all(others.map((userId) => clientsFor(userId)));
    const created = await sender.conversations.createConversation(
      MEMBERS === 2
        ? { kind: ConversationKind.DIRECT, memberIds: others }
        : { kind: ConversationKind.GROUP, memberIds: others },
    );
    return { sender, recipients, conversationId: created.conversation?.conversationId ?? "" };
  }),
);

let delivered = 0;
const abort = new AbortController();
// Every stream listens on this one signal.
setMaxListeners(0, abort.signal);
const streams = pairs.flatMap(({ sender, recipients }) => [sender, ...recipients]).map(async (recipient) => {
  try {
    for await (const frame of recipient.chat.subscribe({ deviceId: "bench" }, { signal: abort.signal })) {
      if (frame.kind.case === "batch") {
        for (const event of frame.kind.value.events) if (event.kind.case === "message") delivered++;
      }
    }
  } catch {
    // Aborted at the end of the run.
  }
});

const serverCpuSeconds = async () =>
  Number(/^chatwire_process_cpu_seconds_total (\S+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
const cpuBefore = await serverCpuSeconds();
let committed = 0;
let failed = 0;
const latencies: number[] = [];
const deadline = performance.now() + seconds * 1000;
const started = performance.now();
async function worker(index: number) {
  const pair = pairs[index % pairs.length];
  if (pair === undefined) return;
  while (performance.now() < deadline) {
    const sentAt = performance.now();
    try {
      await pair.sender.chat.sendMessage({ conversationId: pair.conversationId, clientMessageId: uuidV7(), text: "benchmark message of moderate length", deviceId: "bench" });
      committed++;
      if (latencies.length < 200_000) latencies.push(performance.now() - sentAt);
    } catch (error) {
      failed++;
      if (failed === 1) console.error("first failure:", error);
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(index)));
const elapsed = (performance.now() - started) / 1000;
await new Promise((resolve) => setTimeout(resolve, 1000));
const cpuPerMessageUs = Math.round(((await serverCpuSeconds()) - cpuBefore) * 1e6 / committed);
abort.abort();
await Promise.all(streams);

latencies.sort((a, b) => a - b);
const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]?.toFixed(1);
const metrics = await (await fetch(`${url}/metrics`)).text();
const batchSum = Number(/^chatwire_store_commit_batch_size_sum (\S+)/m.exec(metrics)?.[1]);
const batchCount = Number(/^chatwire_store_commit_batch_size_count (\S+)/m.exec(metrics)?.[1]);
console.log(
  JSON.stringify({
    synchronous,
    seconds: Number(elapsed.toFixed(1)),
    concurrency,
    conversations: CONVERSATIONS,
    members: MEMBERS,
    committedPerSecond: Math.round(committed / elapsed),
    deliveredPerSecond: Math.round(delivered / elapsed),
    delivered,
    committed,
    failed,
    latencyMs: { p50: quantile(0.5), p99: quantile(0.99) },
    meanBatchSize: Number((batchSum / batchCount).toFixed(1)),
    // Server CPU per committed message, its delivery included: the figure
    // that least depends on what else runs on the machine.
    serverCpuPerMessageUs: cpuPerMessageUs,
  }),
);
server.kill("SIGTERM");
await new Promise((resolve) => server.once("exit", resolve));
rmSync(dataDir, { recursive: true, force: true });
