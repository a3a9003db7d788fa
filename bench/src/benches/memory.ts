import { setTimeout as sleep } from "node:timers/promises";

import { LoadProcess } from "../load-process.js";
import type { IdleClientsConfig, IdleClientsReady, IdleClientsResult } from "../load/idle-clients.js";
import { requireMetric, scrapeMetrics } from "../metrics.js";
import type { ServerProcess } from "../server-launcher.js";
import { formatNumber, median } from "../stats.js";
import { withBenchServer } from "./bench-server.js";
import { readFileLimits } from "./file-limits.js";
import type { BenchReport, BenchSettings } from "./types.js";

const CLIENTS = 5_000;
const BATCH_SIZE = 100;
/** Sockets a process needs besides its client connections: stdio, IPC, SQLite files, the listener. */
const SPARE_FILES = 200;
const SETTLE_MS = 10_000;
const SCRAPES = 3;
export const MEMORY_TARGET_KIB = 12;

interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
  streamsOpen: number;
}

/**
 * Memory per idle client: 5,000 clients, each with its own HTTP/2 connection
 * and one Subscribe stream, opened in batches of 100 by separate load
 * processes. Server RSS and V8 heap used come from /metrics before the
 * clients connect and after they have been idle for a settle period. The
 * figure per client is the difference divided by 5,000.
 */
export async function runMemoryBench(settings: BenchSettings): Promise<BenchReport> {
  const limits = readFileLimits();
  // Node raises its soft descriptor limit to the hard one at startup, so the
  // hard limit is what the server and each load process get.
  if (limits.hard < CLIENTS + SPARE_FILES) {
    throw new Error(
      `the open-file limit is ${limits.hard}, below the ${CLIENTS + SPARE_FILES} descriptors the server needs ` +
        `for ${CLIENTS} connections; raise it (ulimit -Hn and -n, e.g. in /etc/security/limits.conf) and run again`,
    );
  }
  const processes = Math.max(2, Math.ceil(CLIENTS / (limits.hard - SPARE_FILES)));
  const failures: string[] = [];

  const report = await withBenchServer({}, async (server) => {
    settings.log(`memory: letting the idle server settle for ${SETTLE_MS / 1000} s`);
    await sleep(SETTLE_MS);
    const before = await sampleMemory(server);

    const identities = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, index) => {
        const userId = `idle-${String(index).padStart(5, "0")}`;
        return { userId, token: await server.token(userId) };
      }),
    );
    const share = Math.ceil(CLIENTS / processes);
    const loads = Array.from({ length: processes }, (_, index) => {
      const config: IdleClientsConfig = {
        baseUrl: server.url,
        clients: identities.slice(index * share, (index + 1) * share),
        batchSize: BATCH_SIZE,
        batchTimeoutMs: 60_000,
      };
      return LoadProcess.start("idle-clients", config, settings.log);
    });

    try {
      const ready = (await Promise.all(loads.map((load) => load.receive("ready", 10 * 60_000)))) as IdleClientsReady[];
      const opened = ready.reduce((total, entry) => total + entry.opened, 0);
      settings.log(`memory: ${opened} streams open; settling for ${SETTLE_MS / 1000} s`);
      await sleep(SETTLE_MS);
      const after = await sampleMemory(server);

      for (const load of loads) load.send({ type: "close" });
      const results = (await Promise.all(loads.map((load) => load.receive("result", 60_000)))) as IdleClientsResult[];
      const dropped = results.reduce((total, result) => total + result.droppedWhileHeld, 0);
      if (dropped > 0) {
        failures.push(`memory: ${dropped} streams ended while held open, first: ${results.find((result) => result.firstDropError)?.firstDropError}`);
      }
      if (after.streamsOpen - before.streamsOpen !== CLIENTS) {
        failures.push(`memory: the server reports ${after.streamsOpen - before.streamsOpen} new open streams, expected ${CLIENTS}`);
      }
      return { before, after, opened };
    } finally {
      await Promise.all(loads.map((load) => load.stop()));
    }
  });

  const rssPerClient = (report.after.rssBytes - report.before.rssBytes) / CLIENTS;
  const heapPerClient = (report.after.heapUsedBytes - report.before.heapUsedBytes) / CLIENTS;
  const mib = (bytes: number) => `${formatNumber(bytes / 1024 ** 2, 1)} MiB`;
  return {
    rows: [
      {
        benchmark: "memory",
        figure: `server RSS per idle client, KiB (${formatNumber(CLIENTS)} clients)`,
        value: formatNumber(rssPerClient / 1024, 2),
        target: `<= ${MEMORY_TARGET_KIB}`,
        met: rssPerClient / 1024 <= MEMORY_TARGET_KIB,
      },
      {
        benchmark: "memory",
        figure: `server V8 heap used per idle client, KiB`,
        value: formatNumber(heapPerClient / 1024, 2),
      },
    ],
    notes: [
      `memory: ${formatNumber(report.opened)} clients, each its own HTTP/2 connection and Subscribe stream, opened in ` +
        `batches of ${BATCH_SIZE} by ${processes} load processes; RSS ${mib(report.before.rssBytes)} -> ${mib(report.after.rssBytes)}, ` +
        `heap used ${mib(report.before.heapUsedBytes)} -> ${mib(report.after.heapUsedBytes)} (median of ${SCRAPES} scrapes ` +
        `after ${SETTLE_MS / 1000} s idle); open-file limit soft ${limits.soft}, hard ${limits.hard}, so no limit was raised`,
    ],
    failures,
  };
}

/** Scrapes /metrics SCRAPES times, one second apart, and returns the medians. */
async function sampleMemory(server: ServerProcess): Promise<MemorySample> {
  const samples: MemorySample[] = [];
  for (let scrape = 0; scrape < SCRAPES; scrape++) {
    if (scrape > 0) await sleep(1_000);
    const metrics = await scrapeMetrics(server.url);
    samples.push({
      rssBytes: requireMetric(metrics, "process_resident_memory_bytes"),
      heapUsedBytes: requireMetric(metrics, "nodejs_heap_size_used_bytes"),
      streamsOpen: requireMetric(metrics, "chatwire_subscribe_streams_open"),
    });
  }
  return {
    rssBytes: median(samples.map((sample) => sample.rssBytes)),
    heapUsedBytes: median(samples.map((sample) => sample.heapUsedBytes)),
    streamsOpen: median(samples.map((sample) => sample.streamsOpen)),
  };
}
