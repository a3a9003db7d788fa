#!/usr/bin/env node
/** chatwire-server: runs the reference server until SIGTERM or SIGINT. */
import { readFileSync } from "node:fs";
import type { JSONWebKeySet } from "jose";
import { pino, type Level } from "pino";
import { MIN_SECRET_BYTES } from "../src/auth/tokens.js";
import { migratePostgres, startServer, type ServerOptions } from "../src/index.js";
import { RedisConnectionError } from "../src/fanout/redis-connection.js";
import { checkDatabaseUrl, checkRedisUrl } from "../src/options.js";
import { checkSchemaName, describeDatabase } from "../src/store/postgres/pool.js";
import { SERVER_VERSION } from "../src/version.js";
import { UsageError, helpText, parseFlags, type FlagValues } from "./flags.js";

function readJwks(path: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`--jwks-file ${JSON.stringify(path)} could not be read as JSON: ${(error as Error).message}`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new UsageError(`--jwks-file ${JSON.stringify(path)} is not a JSON Web Key Set: expected {"keys": [...]} with at least one key`);
  }
  return parsed as JSONWebKeySet;
}

/** Replaces option names in a message from src/options.ts with their flags. */
function flagNames(message: string): string {
  return message
    .replace(/\bredisUrl\b/g, "--redis-url (CHATWIRE_REDIS_URL)")
    .replace(/\bdatabaseUrl\b/g, "--database-url (CHATWIRE_DATABASE_URL)");
}

function toOptions(values: FlagValues): ServerOptions {
  const get = <T extends string | number | boolean>(name: string) => values.get(name) as T | undefined;
  const options: ServerOptions = {};
  const set = <K extends keyof ServerOptions>(key: K, value: ServerOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set("port", get<number>("port"));
  set("host", get<string>("host"));
  set("dataDir", get<string>("data-dir"));
  set("dev", get<boolean>("dev"));
  const secret = get<string>("jwt-secret");
  if (secret !== undefined && Buffer.byteLength(secret, "utf8") < MIN_SECRET_BYTES) {
    throw new UsageError(
      `--jwt-secret is ${Buffer.byteLength(secret, "utf8")} bytes; expected at least ${MIN_SECRET_BYTES} random bytes ` +
        "(for example: openssl rand -base64 32)",
    );
  }
  set("jwtSecret", secret);
  const jwksFile = get<string>("jwks-file");
  if (jwksFile !== undefined) options.jwks = readJwks(jwksFile);
  set("jwtIssuer", get<string>("jwt-issuer"));
  set("jwtAudience", get<string>("jwt-audience"));
  set("maxMessageBytes", get<number>("max-message-bytes"));
  set("maxMembers", get<number>("max-members"));
  set("maxPageSize", get<number>("max-page-size"));
  set("defaultPageSize", get<number>("default-page-size"));
  set("maxLongPollMs", get<number>("max-long-poll-ms"));
  set("heartbeatMs", get<number>("heartbeat-ms"));
  set("maxStreamsPerUser", get<number>("max-streams-per-user"));
  set("rateLimit", get<number>("rate-limit"));
  set("retentionSeconds", get<number>("retention-seconds"));
  set("pruneIntervalMs", get<number>("prune-interval-ms"));
  set("sqliteSynchronous", get<"full" | "normal">("sqlite-synchronous"));
  const databaseUrl = get<string>("database-url");
  const databaseSchema = get<string>("database-schema");
  // startServer checks these too, but its RangeError would end in a fatal
  // log and exit code 1 instead of a usage error and exit code 2.
  try {
    if (databaseUrl !== undefined) checkDatabaseUrl(databaseUrl);
    if (databaseSchema !== undefined) checkSchemaName(databaseSchema, "--database-schema (CHATWIRE_DATABASE_SCHEMA)");
  } catch (error) {
    throw new UsageError(flagNames((error as Error).message));
  }
  set("databaseUrl", databaseUrl);
  set("databasePoolMax", get<number>("database-pool-max"));
  set("databaseSchema", databaseSchema);
  const redisUrl = get<string>("redis-url");
  if (redisUrl !== undefined) {
    try {
      checkRedisUrl(redisUrl, options.databaseUrl);
    } catch (error) {
      throw new UsageError(flagNames((error as Error).message));
    }
  }
  set("redisUrl", redisUrl);
  set("redisChannelPrefix", get<string>("redis-channel-prefix"));
  set("headersTimeoutMs", get<number>("headers-timeout-ms"));
  set("requestTimeoutMs", get<number>("request-timeout-ms"));
  set("idleTimeoutMs", get<number>("idle-timeout-ms"));
  if (options.jwtSecret === undefined && options.jwks === undefined && options.dev !== true) {
    throw new UsageError(
      "no way to verify bearer tokens: set --jwt-secret (CHATWIRE_JWT_SECRET) or --jwks-file " +
        "(CHATWIRE_JWKS_FILE), or pass --dev for development",
    );
  }
  const maxPage = options.maxPageSize ?? 1000;
  if (options.defaultPageSize === undefined && maxPage < 500) options.defaultPageSize = maxPage;
  if (options.defaultPageSize !== undefined && options.defaultPageSize > maxPage) {
    throw new UsageError(`--default-page-size is ${options.defaultPageSize}; expected at most --max-page-size (${maxPage})`);
  }
  return options;
}

/** Checks the flags of `chatwire-server migrate`; the other server flags are accepted and unused. */
function toMigrateOptions(values: FlagValues): { connectionString: string; schema: string } {
  const url = values.get("database-url") as string | undefined;
  if (url === undefined) {
    throw new UsageError("migrate needs --database-url (or CHATWIRE_DATABASE_URL), as in postgres://user@host:5432/database");
  }
  try {
    return {
      connectionString: checkDatabaseUrl(url),
      schema: checkSchemaName((values.get("database-schema") as string | undefined) ?? "chatwire", "--database-schema"),
    };
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^databaseUrl/, "--database-url"));
  }
}

/** Runs `chatwire-server migrate`: applies pending PostgreSQL migrations and returns the exit code. */
async function migrate(values: FlagValues): Promise<number> {
  const logger = pino({ level: (values.get("log-level") as Level | "silent" | undefined) ?? "info" });
  let options;
  try {
    options = toMigrateOptions(values);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`chatwire-server: ${error.message}\n`);
    return 2;
  }
  const where = { ...describeDatabase(options.connectionString), schema: options.schema };
  try {
    // migratePostgres logs the versions it applied.
    const result = await migratePostgres({ ...options, logger });
    if (result.applied.length === 0) logger.info({ ...where, version: result.version }, "PostgreSQL schema was already current");
    return 0;
  } catch (error) {
    const hint = databaseUnreachable(error) ? "; check --database-url and that PostgreSQL is running" : "";
    logger.fatal({ ...where, err: error }, `PostgreSQL migration failed${hint}`);
    return 1;
  }
}

/**
 * Checks whether the error, or an error in its cause chain, shows that the
 * database could not be reached or rejected the login. Such an error has a
 * socket error code (ECONNREFUSED, ENOTFOUND, ...) or a PostgreSQL connection
 * (08), login (28) or unknown-database (3D000) SQLSTATE.
 */
function databaseUnreachable(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (/^E[A-Z]+$/.test(code) || code.startsWith("08") || code.startsWith("28") || code === "3D000") return true;
  }
  return false;
}

async function main(): Promise<number> {
  let parsed;
  let options: ServerOptions;
  const args = process.argv.slice(2);
  const command = args[0] === "migrate" ? "migrate" : "serve";
  try {
    parsed = parseFlags(command === "migrate" ? args.slice(1) : args, process.env);
    if (parsed.help) {
      process.stdout.write(`${helpText()}\n`);
      return 0;
    }
    if (parsed.version) {
      process.stdout.write(`${SERVER_VERSION}\n`);
      return 0;
    }
    if (command === "migrate") return await migrate(parsed.values);
    options = toOptions(parsed.values);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`chatwire-server: ${error.message}\n`);
    return 2;
  }

  const logger = pino({ level: (parsed.values.get("log-level") as Level | "silent" | undefined) ?? "info" });
  options.logger = logger;
  let server;
  try {
    server = await startServer(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === "EADDRINUSE"
        ? "; another process uses the port: pick another with --port"
        : code === "SQLITE_BUSY"
          ? "; another chatwire-server uses this data directory: stop it or pick another --data-dir"
          : error instanceof RedisConnectionError
            ? ""
            : options.databaseUrl !== undefined && databaseUnreachable(error)
              ? "; check --database-url and that PostgreSQL is running"
              : "";
    logger.fatal({ err: error }, `chatwire server failed to start${hint}`);
    return 1;
  }
  logger.info(`connect clients to ${server.url} with the header "Authorization: Bearer <JWT>" (sub = user id)`);
  if (options.dev === true) {
    logger.info(`development mode: get a token with  curl '${server.url}/dev/token?user=alice'`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting without waiting for shutdown");
        resolve(1);
        return;
      }
      stopping = true;
      logger.info({ signal }, "shutting down");
      server.close().then(
        () => resolve(0),
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}


main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chatwire-server: unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
