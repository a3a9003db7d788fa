/**
 * The PostgreSQL store: the shared source of truth when several stateless
 * chatwire nodes serve one deployment. Each node opens its own store (its
 * own pool) on the same database and schema. Seqs and log positions come
 * from row locks inside each transaction, not from node memory, so they stay
 * gapless however many nodes write at once.
 *
 * Unlike the SQLite store, this store keeps no in-memory tail of recent
 * events, so every read goes to the database. Another node may have appended
 * to a log since this one last wrote to it.
 */
import { Client } from "pg";
import { pino, type Logger } from "pino";
import { shuttingDown } from "../../rpc/errors.js";
import type {
  AcknowledgeInput,
  ChangeMembersInput,
  ConversationPageKey,
  CreateConversationInput,
  SendMessageInput,
  Store,
  StoreObserver,
} from "../types.js";
import { CallOrder } from "./call-order.js";
import * as conversations from "./conversations.js";
import { logBounds, pruneStep, query, readEvents } from "./event-log.js";
import * as messages from "./messages.js";
import { applyMigrations, LATEST_VERSION } from "./migrations.js";
import {
  checkSchemaName,
  createPool,
  describeDatabase,
  POOL_DEFAULTS,
  poolStats,
  type PoolSettings,
  type PoolStats,
} from "./pool.js";
import { acknowledge } from "./receipts.js";
import { buildStatements, type Statements } from "./statements.js";
import { TransactionRunner } from "./transaction.js";

export interface PostgresStoreOptions {
  /** Connection URL, as in postgres://user:password@host:5432/database. */
  connectionString: string;
  /** Schema of the store's tables, created with them when missing. Default "chatwire". */
  schema?: string;
  pool?: PoolSettings;
  /**
   * Maximum time one statement may run, in ms. A longer one is canceled and
   * the call fails with unavailable. Default 10,000, because every statement
   * of the store touches a bounded number of rows and normally takes
   * milliseconds.
   */
  statementTimeoutMs?: number;
  /** application_name of the store's connections, shown in pg_stat_activity. Default "chatwire-server". */
  applicationName?: string;
  observer?: StoreObserver;
  /** Logger for migrations, retries and the failures the store turns into unavailable. Default: silent. */
  logger?: Logger;
}

/** A Store on PostgreSQL, with its pool's counts for metrics. */
export interface PostgresStore extends Store {
  poolStats(): PoolStats;
}

export const POSTGRES_DEFAULTS = {
  schema: "chatwire",
  statementTimeoutMs: 10_000,
  applicationName: "chatwire-server",
  ...POOL_DEFAULTS,
} as const;

export interface MigrateOptions {
  connectionString: string;
  /** Default "chatwire". */
  schema?: string;
  /** Default "chatwire-server". */
  applicationName?: string;
  /** How long to wait for the connection, in ms. Default 5,000. */
  connectionTimeoutMs?: number;
  logger?: Logger;
}

/**
 * Creates the schema when missing and applies pending migrations, on one
 * connection of its own. Safe to run from several nodes at once. Returns
 * the versions applied now and the schema's version after.
 */
export async function migratePostgres(options: MigrateOptions): Promise<{ applied: number[]; version: number }> {
  const schema = checkSchemaName(options.schema ?? POSTGRES_DEFAULTS.schema);
  const logger = options.logger ?? pino({ level: "silent" });
  const client = new Client({
    connectionString: options.connectionString,
    application_name: options.applicationName ?? POSTGRES_DEFAULTS.applicationName,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? POSTGRES_DEFAULTS.connectionTimeoutMs,
  });
  // Without a listener, a connection that breaks between statements would
  // crash the process; the next statement fails instead.
  client.on("error", (error) => logger.warn({ err: error, schema }, "PostgreSQL connection for migrations failed"));
  const where = describeDatabase(options.connectionString);
  try {
    await client.connect();
    const applied = await applyMigrations(client, schema);
    if (applied.length > 0) logger.info({ ...where, schema, applied }, "applied PostgreSQL schema migrations");
    return { applied, version: LATEST_VERSION };
  } catch (error) {
    // The reason is in the message, so the error carries no cause: pino would
    // print the cause's message a second time.
    const reason = error instanceof Error ? error.message : String(error);
    const wrapped = new Error(
      `could not migrate PostgreSQL schema ${schema} at ${where.host}:${where.port}/${where.database}: ${reason}`,
    );
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") Object.assign(wrapped, { code });
    throw wrapped;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function checkSetting(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} is ${value}; use a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Applies pending migrations, then opens the pool. Rejects when the database cannot be reached. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const schema = checkSchemaName(options.schema ?? POSTGRES_DEFAULTS.schema);
  const pool = {
    max: checkSetting("pool.max", options.pool?.max ?? POSTGRES_DEFAULTS.max, 1, 10_000),
    idleTimeoutMs: checkSetting("pool.idleTimeoutMs", options.pool?.idleTimeoutMs ?? POSTGRES_DEFAULTS.idleTimeoutMs, 1, 2 ** 31 - 1),
    connectionTimeoutMs: checkSetting(
      "pool.connectionTimeoutMs",
      options.pool?.connectionTimeoutMs ?? POSTGRES_DEFAULTS.connectionTimeoutMs,
      1,
      2 ** 31 - 1,
    ),
  };
  const statementTimeoutMs = checkSetting(
    "statementTimeoutMs",
    options.statementTimeoutMs ?? POSTGRES_DEFAULTS.statementTimeoutMs,
    1,
    2 ** 31 - 1,
  );
  const applicationName = options.applicationName ?? POSTGRES_DEFAULTS.applicationName;
  const logger = options.logger ?? pino({ level: "silent" });

  await migratePostgres({
    connectionString: options.connectionString,
    schema,
    applicationName,
    connectionTimeoutMs: pool.connectionTimeoutMs,
    logger,
  });
  const pgPool = createPool({ connectionString: options.connectionString, pool, statementTimeoutMs, applicationName, logger });
  const statements = buildStatements(schema);
  let logEpoch: string;
  try {
    const rows = await query<{ value: string }>(pgPool, statements.logEpoch, []);
    logEpoch = rows[0]?.value ?? "";
  } catch (error) {
    await pgPool.end();
    throw error;
  }
  if (logEpoch === "") {
    await pgPool.end();
    throw new Error(`PostgreSQL schema ${schema} has no log epoch in store_meta; it was not created by chatwire`);
  }
  const runner = new TransactionRunner({
    pool: pgPool,
    statements,
    logger,
    observer: options.observer,
    failureContext: { connectionTimeoutMs: pool.connectionTimeoutMs, poolMax: pool.max, statementTimeoutMs },
  });
  return new PgStore(logEpoch, pgPool, statements, runner);
}

class PgStore implements PostgresStore {
  readonly logEpoch: string;
  readonly #pool: import("pg").Pool;
  readonly #statements: Statements;
  readonly #runner: TransactionRunner;
  readonly #sendOrder = new CallOrder();
  #closed = false;
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(logEpoch: string, pool: import("pg").Pool, statements: Statements, runner: TransactionRunner) {
    this.logEpoch = logEpoch;
    this.#pool = pool;
    this.#statements = statements;
    this.#runner = runner;
  }

  /** Counts a call so that close() can wait for it; rejects calls made after close(). */
  #track<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(shuttingDown());
    this.#inFlight++;
    return call().finally(() => {
      this.#inFlight--;
      if (this.#inFlight === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    });
  }

  createConversation(input: CreateConversationInput) {
    return this.#track(() =>
      this.#runner.write({ operation: "createConversation", userId: input.creatorId }, (transaction) =>
        conversations.createConversation(transaction, input),
      ),
    );
  }

  getConversation(viewerId: string, conversationId: string) {
    return this.#track(() =>
      this.#runner.read({ operation: "getConversation", userId: viewerId, conversationId }, (db) =>
        conversations.viewFor(db, this.#statements, viewerId, conversationId),
      ),
    );
  }

  listConversations(viewerId: string, page: { limit: number; after?: ConversationPageKey | undefined }) {
    return this.#track(() =>
      this.#runner.read({ operation: "listConversations", userId: viewerId }, (db) =>
        conversations.listConversations(db, this.#statements, viewerId, page),
      ),
    );
  }

  addMembers(input: ChangeMembersInput & { maxMembers: number }) {
    return this.#track(() =>
      this.#runner.write(
        { operation: "addMembers", userId: input.callerId, conversationId: input.conversationId },
        (transaction) => conversations.addMembers(transaction, input),
      ),
    );
  }

  removeMembers(input: ChangeMembersInput) {
    return this.#track(() =>
      this.#runner.write(
        { operation: "removeMembers", userId: input.callerId, conversationId: input.conversationId },
        (transaction) => conversations.removeMembers(transaction, input),
      ),
    );
  }

  sendMessage(input: SendMessageInput) {
    const label = { operation: "sendMessage", userId: input.senderId, conversationId: input.conversationId };
    return this.#track(() =>
      this.#sendOrder.run(`${input.senderId} ${input.conversationId}`, () =>
        this.#runner.writeOne(label, (client) => messages.sendMessage(client, this.#statements, input)),
      ),
    );
  }

  getHistory(viewerId: string, conversationId: string, page: { beforeSeq: number; limit: number }) {
    return this.#track(() =>
      this.#runner.read({ operation: "getHistory", userId: viewerId, conversationId }, (db) =>
        messages.getHistory(db, this.#statements, viewerId, conversationId, page),
      ),
    );
  }

  acknowledge(input: AcknowledgeInput) {
    return this.#track(() =>
      this.#runner.write({ operation: "acknowledge", userId: input.userId }, (transaction) =>
        acknowledge(transaction, input),
      ),
    );
  }

  recordDeviceCursor(userId: string, deviceId: string, position: number) {
    // One statement commits on its own; it needs no transaction.
    return this.#track(async () => {
      await this.#runner.read({ operation: "recordDeviceCursor", userId }, (db) =>
        query(db, this.#statements.raiseDeviceCursor, [userId, deviceId, position, Date.now()]),
      );
    });
  }

  readEvents(userId: string, afterPosition: number, limit: number) {
    return this.#track(() =>
      this.#runner.read({ operation: "readEvents", userId }, (db) =>
        readEvents(db, this.#statements, userId, afterPosition, limit),
      ),
    );
  }

  logBounds(userId: string) {
    return this.#track(() =>
      this.#runner.read({ operation: "logBounds", userId }, (db) => logBounds(db, this.#statements, userId)),
    );
  }

  pruneEvents(cutoffMs: number, onProgress?: (deletedSoFar: number) => void): Promise<number> {
    return this.#track(async () => {
      let deleted = 0;
      for (;;) {
        const step = await this.#runner.write({ operation: "pruneEvents" }, (transaction) =>
          pruneStep(transaction.client, transaction.statements, cutoffMs),
        );
        if (step.logs.length === 0) return deleted;
        deleted += step.events;
        onProgress?.(deleted);
      }
    });
  }

  poolStats(): PoolStats {
    return poolStats(this.#pool);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    await this.#pool.end();
  }
}
