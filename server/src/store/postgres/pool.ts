/** The connection pool of the PostgreSQL store, and the settings every connection gets. */
import { Pool, TypeOverrides, types } from "pg";
import type { Logger } from "pino";

export interface PoolSettings {
  /** Maximum number of connections open at once. Default 10. */
  max?: number;
  /** How long an unused connection stays open, in ms. Default 30,000. */
  idleTimeoutMs?: number;
  /**
   * How long a call waits for a connection (a free one from the pool or a new
   * one) before it fails with unavailable, in ms. Default 5,000.
   */
  connectionTimeoutMs?: number;
}

export interface PoolOptions {
  connectionString: string;
  pool: PoolSettings;
  statementTimeoutMs: number;
  applicationName: string;
  logger: Logger;
}

export const POOL_DEFAULTS = { max: 10, idleTimeoutMs: 30_000, connectionTimeoutMs: 5_000 } as const;

/**
 * Extra time the client waits for a reply beyond the server's statement
 * timeout before it gives the connection up, so that a network that silently
 * drops packets cannot hold a call forever.
 */
const READ_TIMEOUT_MARGIN_MS = 5_000;

/** Idle time before TCP keepalive probes start on a connection, in ms. */
const KEEPALIVE_DELAY_MS = 10_000;

/**
 * bigint columns and arrays (positions, seqs, millisecond times and counts)
 * arrive as numbers. They stay far below 2^53; a larger value fails loudly
 * instead of losing precision.
 */
function parseBigint(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} is beyond 2^53 - 1 and cannot be a number`);
  return value;
}

/** OID of bigint[] (_int8), which pg's `types.builtins` does not name. */
const INT8_ARRAY_OID = 1016 as Parameters<typeof types.getTypeParser>[0];

const TYPES = new TypeOverrides();
TYPES.setTypeParser(types.builtins.INT8, parseBigint);
const parseBigintArrayAsText = types.getTypeParser(INT8_ARRAY_OID, "text") as (text: string) => Array<string | null>;
TYPES.setTypeParser(INT8_ARRAY_OID, (text: string) =>
  parseBigintArrayAsText(text).map((item) => (item === null ? null : parseBigint(item))),
);

/** Creates the store's connection pool and attaches the listeners that keep connection errors from crashing the process. */
export function createPool(options: PoolOptions): Pool {
  const settings = { ...POOL_DEFAULTS, ...options.pool };
  const pool = new Pool({
    connectionString: options.connectionString,
    max: settings.max,
    idleTimeoutMillis: settings.idleTimeoutMs,
    connectionTimeoutMillis: settings.connectionTimeoutMs,
    application_name: options.applicationName,
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.statementTimeoutMs + READ_TIMEOUT_MARGIN_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    types: TYPES,
  });

  // An idle connection that breaks (a terminated backend, a restarted
  // server) emits "error" on the pool, and the pool drops it. Without a
  // listener the event would crash the process.
  pool.on("error", (error: Error & { client?: unknown; code?: unknown }) => {
    // pg-pool attaches the failed client to the error. Serialized with it,
    // each line would carry kilobytes of connection internals, among them
    // the user name and the backend's cancel key.
    delete error.client;
    options.logger.warn(
      { err: error, pgCode: error.code },
      "an idle PostgreSQL connection failed; the pool closed it and opens a new one when needed",
    );
  });

  // pg-pool 3.14 hands a new connection to its caller from inside the
  // socket's data handler that read ReadyForQuery, after removing its own
  // "error" listener. When the same read also contains an error (a backend
  // terminated right after it started), the client emits "error" before the
  // caller's `await` can attach a listener, which crashed the process. This
  // listener stays for the connection's lifetime and only keeps that event
  // from being unhandled: the connection is then not queryable, so the
  // caller's next statement fails and is logged with the call's ids.
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });

  return pool;
}

/** Pool counts for metrics: open connections, idle ones, and calls waiting for one. */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export function poolStats(pool: Pool): PoolStats {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
}

/**
 * Describes where a connection string points, for logs: host, port and
 * database, without user name or password.
 */
export function describeDatabase(connectionString: string): { host: string; port: string; database: string } {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return { host: "(unparsed)", port: "", database: "(unparsed)" };
  }
  const socketHost = url.searchParams.get("host");
  return {
    host: url.hostname !== "" ? url.hostname : (socketHost ?? "localhost"),
    port: url.port !== "" ? url.port : "5432",
    database: decodeURIComponent(url.pathname.replace(/^\//, "")) || "(the user's default)",
  };
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Checks a schema name: 1 to 63 characters of a-z, 0-9 and '_', not starting
 * with a digit. Throws a RangeError that names `option`.
 */
export function checkSchemaName(schema: string, option = "schema"): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new RangeError(
      `${option} is ${JSON.stringify(schema)}; use 1 to 63 characters of a-z, 0-9 and '_', not starting with a digit`,
    );
  }
  return schema;
}
