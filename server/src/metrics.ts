/**
 * Prometheus metrics of one server instance, served at GET /metrics. Each
 * server has its own registry, so several servers in one process (tests) do
 * not share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { PoolStats } from "./store/postgres/pool.js";

export interface ServerMetrics {
  registry: Registry;
  streamsOpen: Gauge;
  longPollsWaiting: Gauge;
  messagesCommitted: Counter;
  commitLatency: Histogram;
  commitBatchSize: Histogram;
  requests: Counter<"method" | "code">;
  rateLimited: Counter;
  limitFallbacks: Counter<"limit">;
  fanOutLag: Histogram;
  fanOutPublished: Counter;
  fanOutPublishFailures: Counter;
  fanOutConnected: Gauge;
}

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "chatwire_" });
  return {
    registry,
    streamsOpen: new Gauge({
      name: "chatwire_subscribe_streams_open",
      help: "Subscribe streams currently open.",
      registers: [registry],
    }),
    longPollsWaiting: new Gauge({
      name: "chatwire_sync_long_polls_waiting",
      help: "Sync calls currently waiting for events (long-poll).",
      registers: [registry],
    }),
    messagesCommitted: new Counter({
      name: "chatwire_messages_committed_total",
      help: "Messages committed by SendMessage, replays excluded.",
      registers: [registry],
    }),
    commitLatency: new Histogram({
      name: "chatwire_store_commit_latency_seconds",
      help: "Time from queueing a write to its durable commit.",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    commitBatchSize: new Histogram({
      name: "chatwire_store_commit_batch_size",
      help: "Writes committed together in one transaction (group commit).",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000],
      registers: [registry],
    }),
    requests: new Counter({
      name: "chatwire_rpc_requests_total",
      help: "RPCs handled, by method and Connect code (ok for success).",
      labelNames: ["method", "code"],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: "chatwire_rpc_rate_limited_total",
      help: "RPCs rejected by the per-user rate limit.",
      registers: [registry],
    }),
    limitFallbacks: new Counter({
      name: "chatwire_limit_local_fallbacks_total",
      help:
        "Per-user limit checks this node decided alone because Redis failed or was unreachable, by limit " +
        "(rate, or streams for Subscribe streams and long-polls).",
      labelNames: ["limit"],
      registers: [registry],
    }),
    fanOutLag: new Histogram({
      name: "chatwire_fanout_lag_seconds",
      help: "Redis fan-out: time from a publish on another node (its clock) to its arrival here.",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    fanOutPublished: new Counter({
      name: "chatwire_fanout_notifications_published_total",
      help:
        "Redis fan-out: notifications Redis accepted, one SPUBLISH or PUBLISH each. Commits that advance one user's log " +
        "while the previous pipeline is in flight share one notification.",
      registers: [registry],
    }),
    fanOutPublishFailures: new Counter({
      name: "chatwire_fanout_publish_failures_total",
      help: "Redis fan-out: notifications that could not be published; readers on other nodes see those events at their next heartbeat.",
      registers: [registry],
    }),
    fanOutConnected: new Gauge({
      name: "chatwire_fanout_connected",
      help: "Redis fan-out: 1 while both Redis connections are up, 0 while one is down or without Redis.",
      registers: [registry],
    }),
  };
}

/** Adds gauges for the PostgreSQL connection pool, read from `counts` at each scrape. */
export function addPostgresPoolGauges(registry: Registry, counts: () => PoolStats): void {
  new Gauge({
    name: "chatwire_postgres_pool_connections",
    help: "PostgreSQL connections the pool has open, idle or in use.",
    registers: [registry],
    collect() {
      this.set(counts().total);
    },
  });
  new Gauge({
    name: "chatwire_postgres_pool_idle_connections",
    help: "PostgreSQL connections open and not in use.",
    registers: [registry],
    collect() {
      this.set(counts().idle);
    },
  });
  new Gauge({
    name: "chatwire_postgres_pool_waiting_clients",
    help: "Store calls waiting for a free PostgreSQL connection.",
    registers: [registry],
    collect() {
      this.set(counts().waiting);
    },
  });
}
