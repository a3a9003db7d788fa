/** Options of a chatwire server, their defaults and their checks. */
import type { Interceptor } from "@connectrpc/connect";
import type { JSONWebKeySet } from "jose";
import type { Logger } from "pino";
import { redisAddress } from "./fanout/redis-connection.js";
import { checkSchemaName } from "./store/postgres/pool.js";
import type { Store } from "./store/types.js";

export interface ServerOptions {
  /** TCP port. 0 picks a free port (see RunningServer.port). Default 8080. */
  port?: number;
  /**
   * Address to listen on. Default 127.0.0.1, reachable from this machine only;
   * use 0.0.0.0 in a container so that the published port reaches it.
   */
  host?: string;
  /**
   * Directory of the SQLite database (unused with databaseUrl) and the
   * development secret. Created when missing. Default "./data".
   */
  dataDir?: string;
  /**
   * Development mode: serves GET /dev/token and, without jwtSecret or jwks,
   * signs with a secret generated once and kept in dataDir. Default false,
   * because /dev/token hands out a token for any user.
   */
  dev?: boolean;
  /** HS256 secret for bearer tokens, at least 32 bytes. Required unless jwks is set or dev is true. */
  jwtSecret?: string;
  /** Public keys for asymmetric tokens (EdDSA, ES256, RS256, ...), as a JSON Web Key Set. */
  jwks?: JSONWebKeySet;
  /** Required `iss` claim; unset accepts any issuer. */
  jwtIssuer?: string;
  /** Required `aud` claim; unset accepts any audience. */
  jwtAudience?: string;
  /** Maximum message text in UTF-8 bytes. Default 16,384: a long chat message, still cheap to fan out. */
  maxMessageBytes?: number;
  /** Maximum members per conversation. Default 500: every message is appended to each member's log. */
  maxMembers?: number;
  /** Maximum events or messages per page. Default 1,000. */
  maxPageSize?: number;
  /** Page size when a request leaves it 0. Default 500. */
  defaultPageSize?: number;
  /** Maximum SyncRequest.wait_ms. Default 30,000: below the idle timeout of common proxies (60 s). */
  maxLongPollMs?: number;
  /**
   * Interval of heartbeats on an idle Subscribe stream, in ms. Default 10,000:
   * clients detect a dead stream after about 2.5 intervals (25 s).
   */
  heartbeatMs?: number;
  /**
   * Subscribe streams plus waiting long-poll Syncs one user may have open at
   * once; one more gets resource_exhausted. Default 20: a user has several
   * devices and browser tabs with one stream each, and a reconnecting client
   * opens its new stream while the server still tears down the old one.
   */
  maxStreamsPerUser?: number;
  /** Requests per second per user, with bursts of twice as many. 0 disables the limit. Default 100. */
  rateLimit?: number;
  /** How long events are kept, in seconds. Default 2,592,000 (30 days). */
  retentionSeconds?: number;
  /** How often expired events are deleted, in ms. Default 600,000 (10 minutes). */
  pruneIntervalMs?: number;
  /**
   * PostgreSQL connection URL (postgres:// or postgresql://). When set, the
   * server keeps its data in PostgreSQL instead of SQLite, so several
   * servers can share it. Unset: SQLite in dataDir.
   */
  databaseUrl?: string;
  /**
   * Maximum number of PostgreSQL connections this server opens at once.
   * Default 10: a write uses a connection for a few milliseconds, and
   * PostgreSQL's own default max_connections of 100 leaves room for several
   * servers.
   */
  databasePoolMax?: number;
  /** PostgreSQL schema of the tables, created with them when missing. Default "chatwire". */
  databaseSchema?: string;
  /**
   * Redis URL (redis://, or rediss:// for TLS) of the fan-out that wakes
   * readers on the other servers of a deployment after each commit.
   * Requires databaseUrl, because servers that wake each other must share
   * one store. Unset: the in-process fan-out of a single server.
   */
  redisUrl?: string;
  /**
   * Prefix of the fan-out's Redis channel names and of the keys of the
   * per-user limits, so that several deployments can share one Redis.
   * Default "chatwire:".
   */
  redisChannelPrefix?: string;
  /**
   * SQLite durability. "full" (default) fsyncs every commit so acknowledged
   * messages survive a power loss; "normal" survives process crashes only.
   */
  sqliteSynchronous?: "full" | "normal";
  /**
   * Largest request message the server reads, in bytes. Default 1 MiB, or
   * maxMessageBytes plus 64 KiB when that is larger. Bigger requests get
   * resource_exhausted before they are buffered.
   */
  readMaxBytes?: number;
  /** How long shutdown waits for in-flight requests before closing connections, in ms. Default 10,000. */
  shutdownGraceMs?: number;
  /**
   * Deadline for a new connection to send complete HTTP/1.1 request headers
   * or the HTTP/2 preface and SETTINGS, in ms; on HTTP/1.1 keep-alive it
   * restarts when a response ends. Default 10,000: a request head is one
   * round trip, and 10 s still covers a slow mobile network with retransmits.
   */
  headersTimeoutMs?: number;
  /**
   * Deadline for a request body after its headers, in ms. Default 60,000:
   * enough for a 1 MiB body at about 150 kbit/s.
   */
  requestTimeoutMs?: number;
  /**
   * How long an HTTP/2 session without open streams may stay silent before
   * the server closes it, in ms. Sessions with a Subscribe or long-poll open
   * are never closed as idle. Default 60,000. HTTP/1.1 keep-alive sockets
   * close after Node's keepAliveTimeout (5 s).
   */
  idleTimeoutMs?: number;
  /** Logger for start, stop and caught errors. Default: none (a silent pino logger). */
  logger?: Logger;
  /**
   * Wraps the store before the RPC handlers use it, for example to trace or
   * count store calls or to cache reads. The returned store must keep the
   * contract in `store/types.ts`. Called once, after the store opened.
   * Default: the store is used as it is.
   */
  decorateStore?: (store: Store) => Store;
  /**
   * Connect interceptors for tracing, auditing or extra per-method checks.
   * They run on every RPC after the server's own interceptor, so the caller
   * is already authenticated and rate limited. The first one is outermost.
   * Default: none.
   */
  interceptors?: Interceptor[];
}

type OptionalOptions = "jwtSecret" | "jwks" | "jwtIssuer" | "jwtAudience" | "decorateStore" | "databaseUrl" | "redisUrl";

export type ResolvedOptions = Required<Omit<ServerOptions, OptionalOptions>> & Pick<ServerOptions, OptionalOptions>;

export const DEFAULTS = {
  port: 8080,
  host: "127.0.0.1",
  dataDir: "./data",
  maxMessageBytes: 16_384,
  maxMembers: 500,
  maxPageSize: 1_000,
  defaultPageSize: 500,
  maxLongPollMs: 30_000,
  heartbeatMs: 10_000,
  maxStreamsPerUser: 20,
  rateLimit: 100,
  retentionSeconds: 30 * 24 * 60 * 60,
  pruneIntervalMs: 10 * 60 * 1000,
  sqliteSynchronous: "full",
  databasePoolMax: 10,
  databaseSchema: "chatwire",
  redisChannelPrefix: "chatwire:",
  shutdownGraceMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
} as const;

const MIB = 1024 * 1024;

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} is ${value}; use a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Checks that a databaseUrl is a postgres:// or postgresql:// URL; the message never shows the URL, which may contain a password. */
export function checkDatabaseUrl(url: string): string {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== "postgres:" && protocol !== "postgresql:") {
    throw new RangeError(
      "databaseUrl is not a PostgreSQL URL; use postgres://user:password@host:5432/database",
    );
  }
  return url;
}

/**
 * Checks that redisUrl is a Redis URL and comes with databaseUrl; the
 * messages never show the URL, which may contain a password.
 */
export function checkRedisUrl(url: string, databaseUrl: string | undefined): string {
  redisAddress(url);
  if (databaseUrl === undefined) {
    throw new Error(
      "redisUrl is set without databaseUrl. Servers that share Redis must share a PostgreSQL store: " +
        "the others cannot read this server's SQLite file, so their messages would never reach its readers. " +
        "Set databaseUrl or remove redisUrl",
    );
  }
  return url;
}

/** Fills in defaults and checks ranges; throws a RangeError that names the option. */
export function resolveOptions(options: ServerOptions, logger: Logger): ResolvedOptions {
  const maxMessageBytes = checkInteger("maxMessageBytes", options.maxMessageBytes ?? DEFAULTS.maxMessageBytes, 1, 64 * MIB);
  const maxPageSize = checkInteger("maxPageSize", options.maxPageSize ?? DEFAULTS.maxPageSize, 1, 100_000);
  const resolved: ResolvedOptions = {
    port: checkInteger("port", options.port ?? DEFAULTS.port, 0, 65_535),
    host: options.host ?? DEFAULTS.host,
    dataDir: options.dataDir ?? DEFAULTS.dataDir,
    dev: options.dev ?? false,
    jwtSecret: options.jwtSecret,
    jwks: options.jwks,
    jwtIssuer: options.jwtIssuer,
    jwtAudience: options.jwtAudience,
    maxMessageBytes,
    maxMembers: checkInteger("maxMembers", options.maxMembers ?? DEFAULTS.maxMembers, 2, 100_000),
    maxPageSize,
    defaultPageSize: checkInteger(
      "defaultPageSize",
      options.defaultPageSize ?? Math.min(DEFAULTS.defaultPageSize, maxPageSize),
      1,
      maxPageSize,
    ),
    maxLongPollMs: checkInteger("maxLongPollMs", options.maxLongPollMs ?? DEFAULTS.maxLongPollMs, 0, 3_600_000),
    heartbeatMs: checkInteger("heartbeatMs", options.heartbeatMs ?? DEFAULTS.heartbeatMs, 10, 3_600_000),
    maxStreamsPerUser: checkInteger(
      "maxStreamsPerUser",
      options.maxStreamsPerUser ?? DEFAULTS.maxStreamsPerUser,
      1,
      1_000_000,
    ),
    rateLimit: checkInteger("rateLimit", options.rateLimit ?? DEFAULTS.rateLimit, 0, 1_000_000),
    retentionSeconds: checkInteger(
      "retentionSeconds",
      options.retentionSeconds ?? DEFAULTS.retentionSeconds,
      1,
      Number.MAX_SAFE_INTEGER / 1000,
    ),
    pruneIntervalMs: checkInteger("pruneIntervalMs", options.pruneIntervalMs ?? DEFAULTS.pruneIntervalMs, 10, 2 ** 31 - 1),
    sqliteSynchronous: options.sqliteSynchronous ?? DEFAULTS.sqliteSynchronous,
    databaseUrl: options.databaseUrl === undefined ? undefined : checkDatabaseUrl(options.databaseUrl),
    databasePoolMax: checkInteger("databasePoolMax", options.databasePoolMax ?? DEFAULTS.databasePoolMax, 1, 10_000),
    databaseSchema: checkSchemaName(options.databaseSchema ?? DEFAULTS.databaseSchema, "databaseSchema"),
    redisUrl: options.redisUrl === undefined ? undefined : checkRedisUrl(options.redisUrl, options.databaseUrl),
    redisChannelPrefix: options.redisChannelPrefix ?? DEFAULTS.redisChannelPrefix,
    readMaxBytes: checkInteger(
      "readMaxBytes",
      options.readMaxBytes ?? Math.max(MIB, maxMessageBytes + 64 * 1024),
      1024,
      2 ** 31 - 1,
    ),
    shutdownGraceMs: checkInteger("shutdownGraceMs", options.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs, 0, 3_600_000),
    headersTimeoutMs: checkInteger("headersTimeoutMs", options.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs, 10, 3_600_000),
    requestTimeoutMs: checkInteger("requestTimeoutMs", options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs, 10, 3_600_000),
    idleTimeoutMs: checkInteger("idleTimeoutMs", options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs, 10, 3_600_000),
    logger,
    decorateStore: options.decorateStore,
    interceptors: options.interceptors ?? [],
  };
  if (resolved.sqliteSynchronous !== "full" && resolved.sqliteSynchronous !== "normal") {
    throw new RangeError(`sqliteSynchronous is ${JSON.stringify(resolved.sqliteSynchronous)}; use "full" or "normal"`);
  }
  if (resolved.readMaxBytes < maxMessageBytes) {
    throw new RangeError(
      `readMaxBytes is ${resolved.readMaxBytes}, below maxMessageBytes ${maxMessageBytes}; raise readMaxBytes`,
    );
  }
  return resolved;
}
