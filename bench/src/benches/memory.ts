import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { startFloorServer } from "../floor/floor-process.js";
import { LoadProcess } from "../load-process.js";
import type { IdleClientsConfig, IdleClientsReady, IdleClientsResult } from "../load/idle-clients.js";
import { requireMetric, scrapeMetrics } from "../metrics.js";
import { compareHeapSnapshots } from "../profile/heap-snapshot.js";
import { formatNumber, median } from "../stats.js";
import { withBenchServer } from "./bench-server.js";
import { checkDeployment, describeDeployment, withDeployment, type DeploymentName } from "./deployment.js";
import { readFileLimits } from "./file-limits.js";
import type { BenchReport, BenchSettings } from "./types.js";

const CLIENTS = 5_000;
const BATCH_SIZE = 100;
/** Descriptors a process needs besides its client connections: stdio, IPC, SQLite files, the listener. */
const SPARE_FILES = 200;
const SETTLE_MS = 10_000;
const SCRAPES = 3;
const SNAPSHOT_CLIENTS = 1_000;
/**
 * Node flags for the server: a preloaded module runs a full garbage
 * collection on SIGUSR2, so that heap figures count live objects and not
 * garbage V8 has not collected yet. The server's own code is unchanged.
 */
const GC_ON_SIGNAL = ["--expose-gc", "--import", "data:text/javascript,process.on('SIGUSR2',()=>globalThis.gc())"];
export const MEMORY_TARGET_KIB = 12;

/** A server under measurement: where its /metrics is and which process to signal. */
interface MeasuredServer {
  url: string;
  pid: number;
  /** Whether /metrics has process_cpu_seconds_total; the bare node:http2 floor server does not. */
  reportsCpu: boolean;
}

interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
  streamsOpen: number;
}

interface IdleMeasurement {
  before: MemorySample;
  after: MemorySample;
  opened: number;
  rssPerClientKiB: number;
  heapPerClientKiB: number;
  /**
   * Server CPU time over the settle period with every stream open and idle,
   * as % of one core: heartbeats and, on PostgreSQL, the store read each
   * heartbeat makes. NaN for a server that does not report its CPU time.
   */
  idleCpuPercent: number;
}

/**
 * Memory per idle client: 5,000 clients, each with its own HTTP/2 connection
 * and one Subscribe stream, opened in batches of 100 by separate load
 * processes. Server RSS and V8 heap used come from /metrics before the
 * clients connect and after they have been idle for a settle period. The
 * figure per client is the difference divided by 5,000. When the settings
 * name a PostgreSQL setup, the same is measured on one node on PostgreSQL
 * with the Redis fan-out, where each idle stream also keeps a Redis channel
 * subscription.
 *
 * The same clients then connect to a bare node:http2 server that keeps each
 * stream open and does nothing else, which gives the floor that Node's
 * HTTP/2 stack sets for any server with one connection per client.
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

  settings.log(`memory: chatwire server, ${CLIENTS} idle clients`);
  const chatwire = await measureDeployment("sqlite", processes, settings, failures);
  // One node stands for every node count: an idle stream costs memory on its own node only.
  const postgresNotes: string[] = [];
  let postgres: IdleMeasurement | undefined;
  if (settings.deployments.some((name) => name !== "sqlite")) {
    const missing = await checkDeployment("postgres-1", settings);
    if (missing === undefined) {
      settings.log(`memory: chatwire server on ${describeDeployment("postgres-1")}, ${CLIENTS} idle clients`);
      postgres = await measureDeployment("postgres-1", processes, settings, failures);
    } else {
      const line = `skipped: memory on ${describeDeployment("postgres-1")}, because ${missing}`;
      settings.log(line);
      postgresNotes.push(line);
    }
  }

  settings.log(`memory: bare node:http2 server, ${CLIENTS} idle clients`);
  const floorServer = await startFloorServer();
  let floor: IdleMeasurement;
  try {
    const tokens = Array.from({ length: CLIENTS }, (_, index) => ({ userId: `idle-${index}`, token: "unused" }));
    floor = await measureIdleClients({ ...floorServer, reportsCpu: false }, tokens, processes, settings, failures);
  } finally {
    await floorServer.stop();
  }

  const snapshotNotes = settings.profile ? [await compareSnapshots(settings, failures)] : [];

  const mib = (bytes: number) => `${formatNumber(bytes / 1024 ** 2, 1)} MiB`;
  const describe = (name: string, measured: IdleMeasurement) =>
    `${name}: RSS ${mib(measured.before.rssBytes)} -> ${mib(measured.after.rssBytes)}, ` +
    `heap used ${mib(measured.before.heapUsedBytes)} -> ${mib(measured.after.heapUsedBytes)}`;
  return {
    rows: [
      {
        benchmark: "memory",
        figure: `server RSS per idle client, KiB (${formatNumber(CLIENTS)} clients)`,
        value: formatNumber(chatwire.rssPerClientKiB, 1),
        target: `<= ${MEMORY_TARGET_KIB}`,
        met: chatwire.rssPerClientKiB <= MEMORY_TARGET_KIB,
      },
      { benchmark: "memory", figure: "server V8 heap used per idle client, KiB", value: formatNumber(chatwire.heapPerClientKiB, 1) },
      {
        benchmark: "memory",
        figure: `server CPU with ${formatNumber(CLIENTS)} idle streams, % of one core`,
        value: formatNumber(chatwire.idleCpuPercent, 1),
      },
      ...(postgres === undefined
        ? []
        : [
            {
              benchmark: "memory",
              figure: `server RSS per idle client, KiB (${describeDeployment("postgres-1")})`,
              value: formatNumber(postgres.rssPerClientKiB, 1),
            },
            {
              benchmark: "memory",
              figure: `server V8 heap used per idle client, KiB (${describeDeployment("postgres-1")})`,
              value: formatNumber(postgres.heapPerClientKiB, 1),
            },
            {
              benchmark: "memory",
              figure: `server CPU with ${formatNumber(CLIENTS)} idle streams, % of one core (${describeDeployment("postgres-1")})`,
              value: formatNumber(postgres.idleCpuPercent, 1),
            },
          ]),
      { benchmark: "memory", figure: "bare node:http2 floor: RSS per idle client, KiB", value: formatNumber(floor.rssPerClientKiB, 1) },
      { benchmark: "memory", figure: "bare node:http2 floor: heap per idle client, KiB", value: formatNumber(floor.heapPerClientKiB, 1) },
    ],
    notes: [
      `memory: ${formatNumber(CLIENTS)} clients, each its own HTTP/2 connection and Subscribe stream, opened in batches ` +
        `of ${BATCH_SIZE} by ${processes} load processes; figures are medians of ${SCRAPES} scrapes, each 500 ms after a ` +
        `full GC (SIGUSR2 to a preloaded handler), after ${SETTLE_MS / 1000} s idle; ` +
        `${describe("chatwire", chatwire)}; ` +
        `${postgres === undefined ? "" : `${describe(`chatwire on ${describeDeployment("postgres-1")}`, postgres)}; `}` +
        `${describe("bare node:http2", floor)}; ` +
        `open-file limit soft ${limits.soft}, hard ${limits.hard}, enough for one process per side, so no limit was raised`,
      ...postgresNotes,
      ...snapshotNotes,
    ],
    failures,
  };
}

/** Measures idle clients on one node of the setup `name`, each client a user of its own. */
async function measureDeployment(
  name: DeploymentName,
  processes: number,
  settings: BenchSettings,
  failures: string[],
): Promise<IdleMeasurement> {
  return withDeployment(name, settings, { nodeArgs: GC_ON_SIGNAL }, async (deployment) => {
    const tokens = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, index) => {
        const userId = `idle-${String(index).padStart(5, "0")}`;
        return { userId, token: await deployment.token(userId) };
      }),
    );
    const server = { url: deployment.urls[0]!, pid: deployment.pids[0]!, reportsCpu: true };
    return measureIdleClients(server, tokens, processes, settings, failures);
  });
}

/** Opens the idle clients against `server`, measures before and after, and closes them again. */
async function measureIdleClients(
  server: MeasuredServer,
  tokens: Array<{ userId: string; token: string }>,
  processes: number,
  settings: BenchSettings,
  failures: string[],
): Promise<IdleMeasurement> {
  await sleep(SETTLE_MS);
  const before = await sampleMemory(server);

  const share = Math.ceil(tokens.length / processes);
  const loads = Array.from({ length: processes }, (_, index) => {
    const config: IdleClientsConfig = {
      baseUrl: server.url,
      clients: tokens.slice(index * share, (index + 1) * share),
      batchSize: BATCH_SIZE,
      batchTimeoutMs: 60_000,
    };
    return LoadProcess.start("idle-clients", config, settings.log);
  });

  try {
    const ready = (await Promise.all(loads.map((load) => load.receive("ready", 10 * 60_000)))) as IdleClientsReady[];
    const opened = ready.reduce((total, entry) => total + entry.opened, 0);
    settings.log(`memory: ${opened} streams open; settling for ${SETTLE_MS / 1000} s`);
    const settleStart = { cpuSeconds: await readCpuSeconds(server), at: performance.now() };
    await sleep(SETTLE_MS);
    const idleCpuSeconds = (await readCpuSeconds(server)) - settleStart.cpuSeconds;
    const idleCpuPercent = (100 * idleCpuSeconds) / ((performance.now() - settleStart.at) / 1000);
    const after = await sampleMemory(server);

    for (const load of loads) load.send({ type: "close" });
    const results = (await Promise.all(loads.map((load) => load.receive("result", 60_000)))) as IdleClientsResult[];
    const dropped = results.reduce((total, result) => total + result.droppedWhileHeld, 0);
    if (dropped > 0) {
      const first = results.find((result) => result.firstDropError !== undefined)?.firstDropError;
      failures.push(`memory: ${dropped} streams ended while held open, first: ${first}`);
    }
    if (after.streamsOpen - before.streamsOpen !== tokens.length) {
      failures.push(
        `memory: the server reports ${after.streamsOpen - before.streamsOpen} new open streams, expected ${tokens.length}`,
      );
    }
    return {
      before,
      after,
      opened,
      rssPerClientKiB: (after.rssBytes - before.rssBytes) / tokens.length / 1024,
      heapPerClientKiB: (after.heapUsedBytes - before.heapUsedBytes) / tokens.length / 1024,
      idleCpuPercent,
    };
  } finally {
    await Promise.all(loads.map((load) => load.stop()));
  }
}

/** Returns the server's CPU seconds so far, or NaN when it does not report them. */
async function readCpuSeconds(server: MeasuredServer): Promise<number> {
  if (!server.reportsCpu) return Number.NaN;
  return requireMetric(await scrapeMetrics(server.url), "process_cpu_seconds_total");
}

/** Scrapes /metrics SCRAPES times, each one 500 ms after a full GC, and returns the medians. */
async function sampleMemory(server: MeasuredServer): Promise<MemorySample> {
  const samples: MemorySample[] = [];
  for (let scrape = 0; scrape < SCRAPES; scrape++) {
    process.kill(server.pid, "SIGUSR2");
    await sleep(500);
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

/**
 * Takes a heap snapshot of a fresh chatwire server before and after
 * SNAPSHOT_CLIENTS idle clients connect, and returns the growth per client by
 * kind of object. Fewer clients than the main measurement keep the snapshots
 * small enough to parse (about 85 MB at 1,000 clients).
 */
async function compareSnapshots(settings: BenchSettings, failures: string[]): Promise<string> {
  settings.log(`memory: heap snapshots around ${SNAPSHOT_CLIENTS} idle clients`);
  return withBenchServer(settings, { nodeArgs: ["--heapsnapshot-signal=SIGUSR2"] }, async (server) => {
    // Node writes the snapshot on the main thread, so the next /metrics
    // response comes after the file is complete.
    const snapshot = async () => {
      process.kill(server.pid, "SIGUSR2");
      await scrapeMetrics(server.url);
      const files = (await readdir(server.dataDir)).filter((name) => name.endsWith(".heapsnapshot")).sort();
      const latest = files.at(-1);
      if (latest === undefined) throw new Error(`no .heapsnapshot in ${server.dataDir} after SIGUSR2`);
      return join(server.dataDir, latest);
    };

    await sleep(SETTLE_MS);
    const before = await snapshot();
    const tokens = await Promise.all(
      Array.from({ length: SNAPSHOT_CLIENTS }, async (_, index) => {
        const userId = `snapshot-${index}`;
        return { userId, token: await server.token(userId) };
      }),
    );
    const load = LoadProcess.start(
      "idle-clients",
      { baseUrl: server.url, clients: tokens, batchSize: BATCH_SIZE, batchTimeoutMs: 60_000 } satisfies IdleClientsConfig,
      settings.log,
    );
    try {
      await load.receive("ready", 5 * 60_000);
      await sleep(SETTLE_MS);
      const after = await snapshot();
      load.send({ type: "close" });
      const result = (await load.receive("result", 60_000)) as IdleClientsResult;
      if (result.droppedWhileHeld > 0) failures.push(`memory snapshots: ${result.droppedWhileHeld} streams ended while held open`);

      const growth = await compareHeapSnapshots(before, after, SNAPSHOT_CLIENTS, 15);
      return [
        `heap snapshot growth per idle client (${SNAPSHOT_CLIENTS} clients, self sizes, native nghttp2 memory included): ` +
          `${formatNumber(growth.totalBytesPerClient)} bytes; largest kinds (bytes and objects per client):`,
        ...growth.rows.map(
          (row) => `  ${formatNumber(row.bytesPerClient).padStart(7)} B  ${row.objectsPerClient.toFixed(1).padStart(6)}  ${row.kind}`,
        ),
      ].join("\n");
    } finally {
      await load.stop();
    }
  });
}
