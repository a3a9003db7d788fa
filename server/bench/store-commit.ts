/**
 * Cost of one small commit in the SQLite or PostgreSQL store, without RPCs.
 *
 * Sends `rate` messages per second for `seconds` into 10 direct
 * conversations, one write per event-loop turn, the way the latency
 * benchmark loads the server, and after each commit reads the recipient's new
 * events as a live Subscribe stream does. Prints the time from queueing a
 * write to its commit (p50, p99, max), how much of it the slowest commits
 * take (WAL checkpoints and fsync outliers), and the process CPU per message.
 *
 *   npx tsx server/bench/store-commit.ts [seconds=5] [rate=1000] [full|normal|postgres]
 *
 * "full" and "normal" set SQLite's synchronous mode. "postgres" uses the
 * PostgreSQL store in a schema of its own (chatwire_test_<random>, dropped
 * afterwards) in the database at CHATWIRE_BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConversationKind } from "@chatwire/gen";
import { Client, escapeIdentifier } from "pg";
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { Store, StoreObserver } from "../src/store/types.js";

const seconds = Number(process.argv[2] ?? 5);
const rate = Number(process.argv[3] ?? 1000);
const mode = process.argv[4] === "normal" || process.argv[4] === "postgres" ? process.argv[4] : "full";
const databaseUrl = process.env.CHATWIRE_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const schema = `chatwire_test_${randomBytes(8).toString("hex")}`;

const dataDir = mkdtempSync(join(tmpdir(), "chatwire-store-bench-"));
const commits: Array<{ size: number; ms: number }> = [];
let commitStarted = 0;
const observer: StoreObserver = {
  eventsCommitted() {},
  batchCommitted(size) {
    commits.push({ size, ms: performance.now() - commitStarted });
  },
};
const store: Store =
  mode === "postgres"
    ? await openPostgresStore({ connectionString: databaseUrl, schema, applicationName: schema, observer })
    : openSqliteStore({ path: join(dataDir, "chatwire.db"), synchronous: mode, observer });

try {
  const conversations: string[] = [];
  const delivered = new Array<number>(10).fill(0);
  for (let pair = 0; pair < 10; pair++) {
    const created = await store.createConversation({
      creatorId: `sender-${pair}`,
      kind: ConversationKind.DIRECT,
      memberIds: [`receiver-${pair}`],
      title: "",
      requestId: "",
      maxMembers: 2,
    });
    conversations.push(created.conversation.conversationId);
  }
  commits.length = 0;

  const total = seconds * rate;
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let index = 0; index < total; index++) {
    const dueAt = startedAt + (index * 1000) / rate;
    const wait = dueAt - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const pair = index % conversations.length;
    commitStarted = performance.now();
    await store.sendMessage({
      senderId: `sender-${pair}`,
      senderDeviceId: "device",
      conversationId: conversations[pair] ?? "",
      clientMessageId: `m-${index}`,
      text: "x".repeat(64),
    });
    const events = await store.readEvents(`receiver-${pair}`, delivered[pair] ?? 0, 501);
    const last = events[events.length - 1];
    if (last === undefined) throw new Error(`receiver-${pair} read no event after message ${index}`);
    delivered[pair] = Number(last.position);
  }
  const cpu = process.cpuUsage(cpuBefore);
  const times = commits.map((commit) => commit.ms).sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  const sum = times.reduce((a, b) => a + b, 0);
  const slowest = times.slice(Math.floor(times.length * 0.99)).reduce((a, b) => a + b, 0);
  const over2ms = times.filter((ms) => ms > 2);
  console.log(
    `${commits.length} commits, ${mode === "postgres" ? "postgres" : `sqlite synchronous=${mode}`}: p50 ${at(0.5).toFixed(3)} ms, p99 ${at(0.99).toFixed(3)} ms, ` +
      `max ${at(1).toFixed(3)} ms, mean ${(sum / times.length).toFixed(3)} ms; slowest 1% hold ${((100 * slowest) / sum).toFixed(1)}% ` +
      `of commit time; ${over2ms.length} over 2 ms, ${over2ms.reduce((a, b) => a + b, 0).toFixed(0)} ms in all; process CPU ${((cpu.user + cpu.system) / total).toFixed(0)} µs per message ` +
      `(user ${(cpu.user / total).toFixed(0)}, system ${(cpu.system / total).toFixed(0)})`,
  );
} finally {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (mode === "postgres") {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`);
    await client.end();
  }
}
