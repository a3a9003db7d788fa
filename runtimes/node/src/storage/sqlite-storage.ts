import type Database from "better-sqlite3";
import type { ChatStorage, StorageTransaction, TransactionMode } from "@chatwire/sdk-core";
import { openDatabase, type SynchronousMode } from "./database.js";
import { prepareStatements, type Statements } from "./statements.js";
import { createSqliteTransaction, type TransactionScope } from "./transaction.js";

export interface SqliteStorageOptions {
  /**
   * Durability level of each commit. Default "full".
   *
   * - "full": SQLite syncs the write-ahead log to disk at every commit, so a
   *   committed transaction survives a process kill, an OS crash and a power
   *   loss. This is what makes `send()` durable: it resolves after the commit
   *   that adds the outbox entry.
   * - "normal": the log is synced only at checkpoints. A commit still survives
   *   a process kill, but the latest commits can be lost on an OS crash or
   *   power loss. Use it only where that loss is acceptable, such as tests.
   *
   * Source: https://www.sqlite.org/pragma.html#pragma_synchronous (WAL mode).
   */
  synchronous?: SynchronousMode;
}

/**
 * Opens (and creates when missing) a storage file for one user and device.
 *
 * Synchronous because better-sqlite3 is: the file is open, in WAL mode and at
 * the current schema version when this returns. Throws when the file was
 * written by a newer schema version than this package supports.
 */
export function openSqliteStorage(path: string, options: SqliteStorageOptions = {}): ChatStorage {
  const db = openDatabase(path, options.synchronous ?? "full");
  return new SqliteStorage(db, prepareStatements(db));
}

/**
 * A `ChatStorage` on one better-sqlite3 connection.
 *
 * Transactions wait in a promise queue and run one at a time in request
 * order, because the callback is asynchronous but the connection can hold
 * only one transaction.
 */
class SqliteStorage implements ChatStorage {
  readonly #db: Database.Database;
  readonly #statements: Statements;
  /** Settles when the last requested transaction has finished, whatever its outcome. */
  #queue: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(db: Database.Database, statements: Statements) {
    this.#db = db;
    this.#statements = statements;
  }

  transaction<T>(mode: TransactionMode, run: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) {
      return Promise.reject(
        new Error(`storage file ${this.#db.name} is closed; open it again to run a transaction`),
      );
    }
    if (mode !== "readonly" && mode !== "readwrite") {
      return Promise.reject(
        new Error(`transaction mode is "${String(mode)}"; use "readonly" or "readwrite"`),
      );
    }
    const result = this.#queue.then(() => this.#run(mode, run));
    this.#queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  close(): Promise<void> {
    this.#closing ??= this.#queue.then(() => {
      this.#db.close();
    });
    return this.#closing;
  }

  async #run<T>(mode: TransactionMode, run: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    const db = this.#db;
    // IMMEDIATE takes the write lock at BEGIN. When another connection holds
    // it past the busy timeout, the transaction fails here, before the
    // callback runs, instead of at its first write.
    db.exec(mode === "readwrite" ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
    const scope: TransactionScope = { mode, active: true };
    try {
      const value = await run(createSqliteTransaction(this.#statements, scope));
      scope.active = false;
      db.exec("COMMIT");
      return value;
    } catch (error) {
      scope.active = false;
      // A failed COMMIT can leave the transaction open; SQLite may also have
      // rolled back by itself after an error such as SQLITE_FULL.
      if (db.inTransaction) db.exec("ROLLBACK");
      throw error;
    }
  }
}
