import { setTimeout as sleep } from "node:timers/promises";

import type { LoadProcess } from "../load-process.js";
import { requireMetric, scrapeMetrics } from "../metrics.js";
import type { Deployment } from "./deployment.js";
import { cpuSecondsBetween, readProcessCpuSeconds } from "./process-cpu.js";

/** Server figures from /metrics over a load's measurement window, summed over every node. */
export interface ServerWindow {
  /** Server CPU time over the window as % of one core, all nodes together. */
  cpuPercent: number;
  /** Server CPU time per message committed in the window, in microseconds. */
  cpuMicrosPerMessage: number;
  committedPerSecond: number;
  /** Writes per store transaction (group commit on SQLite, always 1 on PostgreSQL), averaged over the window. */
  meanCommitBatch: number;
  /** Time from queueing a write to its commit, averaged over the window, in ms. */
  meanCommitLatencyMs: number;
  /**
   * Event-loop delay p99 and max over the window, in ms, from prom-client's
   * monitorEventLoopDelay gauges, which reset at every scrape; the highest
   * of the nodes.
   */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  /** Nodes the figures cover. */
  nodes: number;
  /** Notifications the nodes published to Redis per second; 0 without Redis. */
  publishedPerSecond: number;
  /**
   * CPU time of the nodes' PostgreSQL backend processes over the window, as %
   * of one core, and per committed message in microseconds. Undefined on
   * SQLite. Only backends connected at the start of the window count, and
   * PostgreSQL's shared background processes (WAL writer, checkpointer) are
   * not included, so this is a lower bound.
   */
  database: { cpuPercent: number; cpuMicrosPerMessage: number } | undefined;
}

/**
 * Scrapes every node's /metrics when the load reports "ready" (the start of
 * its measurement window) and again `measureMs` later, and returns the
 * differences summed over the nodes.
 */
export async function observeServerWindow(
  deployment: Deployment,
  load: LoadProcess,
  measureMs: number,
  timeoutMs: number,
): Promise<ServerWindow> {
  const { urls } = deployment;
  await load.receive("ready", timeoutMs);
  const backends = await deployment.databaseBackendPids();
  const databaseBefore = readProcessCpuSeconds(backends);
  const before = await Promise.all(urls.map((url) => scrapeMetrics(url)));
  const startedAt = performance.now();
  await sleep(measureMs);
  const after = await Promise.all(urls.map((url) => scrapeMetrics(url)));
  const databaseCpuSeconds = cpuSecondsBetween(databaseBefore, readProcessCpuSeconds(backends));
  const seconds = (performance.now() - startedAt) / 1000;

  const delta = (name: string) =>
    after.reduce((total, scrape, node) => total + requireMetric(scrape, name) - requireMetric(before[node]!, name), 0);
  const highest = (name: string) => Math.max(...after.map((scrape) => requireMetric(scrape, name)));
  const cpuSeconds = delta("process_cpu_seconds_total");
  const committed = delta("chatwire_messages_committed_total");
  return {
    cpuPercent: (100 * cpuSeconds) / seconds,
    cpuMicrosPerMessage: committed === 0 ? Number.NaN : (cpuSeconds * 1e6) / committed,
    committedPerSecond: committed / seconds,
    meanCommitBatch: delta("chatwire_store_commit_batch_size_sum") / delta("chatwire_store_commit_batch_size_count"),
    meanCommitLatencyMs:
      (1000 * delta("chatwire_store_commit_latency_seconds_sum")) / delta("chatwire_store_commit_latency_seconds_count"),
    eventLoopDelayP99Ms: 1000 * highest("nodejs_eventloop_lag_p99_seconds"),
    eventLoopDelayMaxMs: 1000 * highest("nodejs_eventloop_lag_max_seconds"),
    nodes: urls.length,
    publishedPerSecond: delta("chatwire_fanout_notifications_published_total") / seconds,
    database:
      backends.length === 0
        ? undefined
        : {
            cpuPercent: (100 * databaseCpuSeconds) / seconds,
            cpuMicrosPerMessage: committed === 0 ? Number.NaN : (databaseCpuSeconds * 1e6) / committed,
          },
  };
}

/** Formats a window for a benchmark note. */
export function describeServerWindow(window: ServerWindow): string {
  return (
    `server CPU ${window.cpuPercent.toFixed(0)}% of one core${window.nodes > 1 ? ` (${window.nodes} nodes together)` : ""}, ` +
    `${window.cpuMicrosPerMessage.toFixed(0)} µs CPU per committed message, ` +
    `${window.meanCommitBatch.toFixed(1)} writes per commit, ${window.meanCommitLatencyMs.toFixed(2)} ms mean commit latency, ` +
    `event-loop delay p99 ${window.eventLoopDelayP99Ms.toFixed(1)} ms, max ${window.eventLoopDelayMaxMs.toFixed(1)} ms` +
    (window.database === undefined
      ? ""
      : `, ${window.publishedPerSecond.toFixed(0)} Redis notifications published/s, ` +
        `PostgreSQL backends ${window.database.cpuPercent.toFixed(0)}% of one core ` +
        `(${window.database.cpuMicrosPerMessage.toFixed(0)} µs per committed message)`)
  );
}
