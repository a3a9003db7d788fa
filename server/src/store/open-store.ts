/**
 * Opens the store the server's options select: PostgreSQL when
 * databaseUrl is set, otherwise SQLite in the data directory.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import { addPostgresPoolGauges, type ServerMetrics } from "../metrics.js";
import type { ResolvedOptions } from "../options.js";
import { describeDatabase } from "./postgres/pool.js";
import { openPostgresStore } from "./postgres/postgres-store.js";
import { openSqliteStore } from "./sqlite/sqlite-store.js";
import type { Store, StoreObserver } from "./types.js";

export const DATABASE_FILE = "chatwire.sqlite";

/** An open store and the facts about it that the start log line shows (never a password). */
export interface OpenedStore {
  store: Store;
  description: Record<string, string>;
}

export async function openStore(
  config: Pick<ResolvedOptions, "databaseUrl" | "databasePoolMax" | "databaseSchema" | "sqliteSynchronous">,
  dataDir: string,
  observer: StoreObserver,
  metrics: ServerMetrics,
  logger: Logger,
): Promise<OpenedStore> {
  if (config.databaseUrl !== undefined) {
    const { host, port, database } = describeDatabase(config.databaseUrl);
    logger.info({ store: "postgres", host, port, database, schema: config.databaseSchema }, "opening the PostgreSQL store");
    const store = await openPostgresStore({
      connectionString: config.databaseUrl,
      schema: config.databaseSchema,
      pool: { max: config.databasePoolMax },
      observer,
      logger,
    });
    addPostgresPoolGauges(metrics.registry, () => store.poolStats());
    return {
      store,
      description: { store: "postgres", host, port, database, schema: config.databaseSchema },
    };
  }

  const path = join(dataDir, DATABASE_FILE);
  const store = openSqliteStore({
    path,
    synchronous: config.sqliteSynchronous,
    observer,
    onCommitError(error, writes) {
      logger.error({ err: error, writes }, "store commit failed; the writes were rejected with unavailable");
    },
  });
  return { store, description: { store: "sqlite", database: path, synchronous: config.sqliteSynchronous } };
}
