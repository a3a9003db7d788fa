// Measures how long the SQLite adapter takes to store a catch-up of 10,000
// messages, written as sync would: pages of 500, one readwrite transaction
// per page. Run: node --import tsx runtimes/node/bench/put-messages.ts
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { openSqliteStorage, type SqliteStorageOptions } from "../src/index.js";
import type { MessageRecord } from "@chatwire/sdk-core";

const totalMessages = 10_000;
const pageSize = 500;
const conversations = 20;
const runs = 9;

async function transcriptTexts(): Promise<string[]> {
  const url = new URL("../../../conformance/fixtures/conversation.jsonl", import.meta.url);
  const lines = (await readFile(url, "utf8")).split("\n").filter((line) => line.trim() !== "");
  return lines.map((line) => (JSON.parse(line) as { text: string }).text);
}

/** 10,000 messages spread over 20 conversations, in the order a server log would deliver them. */
function catchUp(texts: readonly string[]): MessageRecord[] {
  const lastSeq = new Array<number>(conversations).fill(0);
  return Array.from({ length: totalMessages }, (_, index) => {
    const conversation = index % conversations;
    const seq = ++lastSeq[conversation]!;
    return {
      conversationId: `group:bench-${conversation}`,
      seq,
      messageId: `m-${conversation}-${seq}`,
      senderId: `user-${index % 7}`,
      senderDeviceId: `device-${index % 7}`,
      clientMessageId: `0197a000-0000-7000-8000-${String(index).padStart(12, "0")}`,
      text: texts[index % texts.length]!,
      createdAt: 1_750_000_000_000 + index,
    };
  });
}

async function measureOnce(records: readonly MessageRecord[], options: SqliteStorageOptions): Promise<number> {
  const directory = await mkdtemp(join(tmpdir(), "chatwire-bench-"));
  try {
    const storage = openSqliteStorage(join(directory, "chat.db"), options);
    const started = performance.now();
    for (let offset = 0; offset < records.length; offset += pageSize) {
      const page = records.slice(offset, offset + pageSize);
      await storage.transaction("readwrite", (tx) => tx.putMessages(page));
    }
    const elapsed = performance.now() - started;
    await storage.close();
    return elapsed;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const records = catchUp(await transcriptTexts());
console.log(
  `putMessages: ${totalMessages} messages in pages of ${pageSize}, ${runs} runs after one warm-up, ` +
    `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, files in ${tmpdir()}`,
);
for (const synchronous of ["full", "normal"] as const) {
  await measureOnce(records, { synchronous });
  const times: number[] = [];
  for (let run = 0; run < runs; run++) times.push(await measureOnce(records, { synchronous }));
  console.log(
    `synchronous=${synchronous}: median ${median(times).toFixed(1)} ms, ` +
      `min ${Math.min(...times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`,
  );
}
