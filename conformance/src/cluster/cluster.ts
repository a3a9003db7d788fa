/**
 * Several chatwire server processes that act as the nodes of one
 * deployment: the same PostgreSQL database and schema (the source of
 * truth), the same Redis (the fan-out between nodes) and the same token
 * secret, each on its own port.
 */
import { randomBytes } from "node:crypto";

import { mintToken, startServerProcess, type ServerProcess, type ServerProcessOptions } from "../server-process.js";
import { dropTestSchema, listBackendPids, newTestSchemaName, terminateBackends, withApplicationName } from "./postgres-admin.js";

/** Options of startCluster. */
export interface ClusterOptions {
  /** Number of server processes, at least 1. */
  nodes: number;
  /** PostgreSQL URL of the database, as in postgres://postgres@127.0.0.1:5432/test, without application_name. */
  databaseUrl: string;
  /** Redis URL, as in redis://127.0.0.1:6379. */
  redisUrl: string;
  /** Server flags added to every node's, after the cluster's own. Default: none. */
  args?: string[];
  /** Options passed to startServerProcess for every node, except args and jwtSecret. */
  process?: Omit<ServerProcessOptions, "args" | "jwtSecret">;
}

/** Server processes that share one database schema, one Redis and one token secret. */
export interface Cluster {
  /** The server processes, in start order. */
  readonly nodes: readonly ServerProcess[];
  /** Each node's `http://127.0.0.1:<port>`, in the order of `nodes`. */
  readonly urls: readonly string[];
  /** The PostgreSQL schema of the cluster, `chatwire_test_<random>`; stop() drops it. */
  readonly schema: string;
  /**
   * application_name of every PostgreSQL connection the nodes open, and the
   * prefix (with a colon) of their Redis channels; equal to the schema name.
   */
  readonly applicationName: string;
  /** Mints an HS256 token that every node accepts. */
  token(userId: string, ttlSeconds?: number): Promise<string>;
  /** Returns the process ids of the nodes' PostgreSQL backends, as PostgreSQL lists them now. */
  databaseBackendPids(): Promise<number[]>;
  /** Terminates every PostgreSQL backend of the nodes (never other backends) and returns how many there were. */
  terminateDatabaseConnections(): Promise<number>;
  /** Stops every node that still runs (SIGTERM, then SIGKILL), then drops the schema. */
  stop(): Promise<void>;
}

/**
 * Starts `options.nodes` server processes on a new schema, all at once, so
 * that they also run the schema migration concurrently. Resolves when every
 * node's /healthz returns 200. On failure, stops the nodes that did start
 * and drops the schema before rejecting.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  if (!Number.isInteger(options.nodes) || options.nodes < 1) {
    throw new Error(`nodes is ${options.nodes}; expected a whole number of at least 1`);
  }
  const schema = newTestSchemaName();
  const jwtSecret = randomBytes(32).toString("base64url");
  const args = [
    "--database-url",
    withApplicationName(options.databaseUrl, schema),
    "--database-schema",
    schema,
    "--redis-url",
    options.redisUrl,
    "--redis-channel-prefix",
    `${schema}:`,
    ...(options.args ?? []),
  ];

  const started = await Promise.allSettled(
    Array.from({ length: options.nodes }, () => startServerProcess({ ...options.process, args, jwtSecret })),
  );
  const nodes = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await dropTestSchema(options.databaseUrl, schema);
  };
  const failure = started.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failure !== undefined) {
    await stop().catch(() => undefined);
    throw failure.reason;
  }

  return {
    nodes,
    urls: nodes.map((node) => node.url),
    schema,
    applicationName: schema,
    token: (userId, ttlSeconds = 3_600) => mintToken(jwtSecret, userId, ttlSeconds),
    databaseBackendPids: () => listBackendPids(options.databaseUrl, schema),
    terminateDatabaseConnections: () => terminateBackends(options.databaseUrl, schema),
    stop,
  };
}
