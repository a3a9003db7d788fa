/**
 * The server setups a benchmark runs against:
 *
 * - sqlite: one server process with its embedded SQLite database (the default setup).
 * - postgres-1: one server process on PostgreSQL with the Redis fan-out, as
 *   one node of a multi-node deployment.
 * - postgres-3: three server processes on one PostgreSQL schema and one
 *   Redis, as three stateless nodes of one deployment.
 *
 * A PostgreSQL setup gets a new schema `chatwire_test_<random>` in the
 * benchmark database for every run and drops it afterwards.
 */
import { checkPostgres, checkRedis, startCluster, type Cluster } from "@chatwire/conformance";

import { withBenchServer, BENCH_SERVER_ARGS } from "./bench-server.js";
import type { BenchReport, BenchSettings } from "./types.js";

export const DEPLOYMENTS = ["sqlite", "postgres-1", "postgres-3"] as const;
export type DeploymentName = (typeof DEPLOYMENTS)[number];

/** A running setup: where its nodes listen and how to mint tokens they accept. */
export interface Deployment {
  readonly name: DeploymentName;
  /** Each node's `http://127.0.0.1:<port>`; one entry for a single node. */
  readonly urls: readonly string[];
  /** Process id of each node, in the order of `urls`. */
  readonly pids: readonly number[];
  /** Process ids of the nodes' PostgreSQL backends now; none on SQLite. */
  databaseBackendPids(): Promise<number[]>;
  token(userId: string): Promise<string>;
}

/** Returns the words a table row uses for a setup, such as "PostgreSQL + Redis, 3 nodes". */
export function describeDeployment(name: DeploymentName): string {
  switch (name) {
    case "sqlite":
      return "SQLite, 1 node";
    case "postgres-1":
      return "PostgreSQL + Redis, 1 node";
    case "postgres-3":
      return "PostgreSQL + Redis, 3 nodes";
  }
}

/**
 * Returns undefined when the setup can run here, or the reason it cannot:
 * PostgreSQL or Redis not reachable at the benchmark's URLs.
 */
export async function checkDeployment(name: DeploymentName, settings: BenchSettings): Promise<string | undefined> {
  if (name === "sqlite") return undefined;
  const postgres = await checkPostgres(settings.databaseUrl);
  if (postgres !== undefined) return `PostgreSQL at ${describeUrl(settings.databaseUrl)} is not reachable (${postgres})`;
  const redis = await checkRedis(settings.redisUrl);
  if (redis !== undefined) return `Redis at ${describeUrl(settings.redisUrl)} is not reachable (${redis})`;
  return undefined;
}

/** Host, port and path of a URL, without user name or password, for messages. */
export function describeUrl(text: string): string {
  const url = new URL(text);
  return `${url.hostname}:${url.port}${url.pathname === "/" ? "" : url.pathname}`;
}

/**
 * Starts the setup with the benchmark's server flags, runs `body` and stops
 * every node (and drops a PostgreSQL schema) whatever happens.
 */
export async function withDeployment<T>(
  name: DeploymentName,
  settings: BenchSettings,
  options: { nodeArgs?: string[] },
  body: (deployment: Deployment) => Promise<T>,
): Promise<T> {
  if (name === "sqlite") {
    return withBenchServer(settings, options, (server) =>
      body({
        name,
        urls: [server.url],
        pids: [server.pid],
        databaseBackendPids: async () => [],
        token: (userId) => server.token(userId),
      }),
    );
  }
  const cluster: Cluster = await startCluster({
    nodes: name === "postgres-3" ? 3 : 1,
    databaseUrl: settings.databaseUrl,
    redisUrl: settings.redisUrl,
    args: [...BENCH_SERVER_ARGS, ...settings.serverArgs],
    process: { nodeArgs: options.nodeArgs ?? [] },
  });
  try {
    return await body({
      name,
      urls: cluster.urls,
      pids: cluster.nodes.map((node) => node.pid),
      databaseBackendPids: () => cluster.databaseBackendPids(),
      token: (userId) => cluster.token(userId),
    });
  } finally {
    await cluster.stop();
  }
}

/**
 * Runs `run` once per setup in `settings.deployments` and joins the reports.
 * A setup that cannot run here is skipped with one printed line and a note.
 */
export async function runPerDeployment(
  settings: BenchSettings,
  benchmark: string,
  run: (name: DeploymentName) => Promise<BenchReport>,
): Promise<BenchReport> {
  const joined: BenchReport = { rows: [], notes: [], failures: [] };
  for (const name of settings.deployments) {
    const missing = await checkDeployment(name, settings);
    if (missing !== undefined) {
      const line = `skipped: ${benchmark} on ${describeDeployment(name)}, because ${missing}`;
      settings.log(line);
      joined.notes.push(line);
      continue;
    }
    const report = await run(name);
    joined.rows.push(...report.rows);
    joined.notes.push(...report.notes);
    joined.failures.push(...report.failures);
  }
  return joined;
}
