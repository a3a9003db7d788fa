/**
 * Group commit for SQLite.
 *
 * Every write is a synchronous function queued here. On the next turn of the
 * event loop the queue runs all pending writes in one transaction, each inside
 * its own savepoint, and commits once, so concurrent requests share one fsync.
 * A write that throws rolls back to its savepoint and fails alone; the others
 * commit. Each promise settles only after the COMMIT returned, which with
 * synchronous=FULL means the WAL was fsync'd.
 *
 *   enqueue -> pending --(setImmediate)--> BEGIN, write, write, ... COMMIT -> resolve all
 *
 * better-sqlite3 blocks the event loop during the commit, so requests that
 * arrive meanwhile wait in the socket buffers and form the next batch.
 */
import type Database from "better-sqlite3";
import { Code, ConnectError } from "@connectrpc/connect";

/** What a write can record besides its result: the log heads it advanced. */
export interface WriteContext {
  noteHead(userId: string, position: number): void;
}

export type Write<T> = (context: WriteContext) => T;

interface PendingWrite {
  write: Write<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  enqueuedAt: number;
}

export interface WriteQueueHooks {
  committed(heads: Map<string, number>, size: number, latenciesSeconds: number[]): void;
  commitFailed(error: unknown, size: number): void;
}

/**
 * Writes per transaction. A cap bounds the time one commit holds the event
 * loop; the remainder goes into the next transaction at once.
 */
const MAX_BATCH = 1000;

export class WriteQueue {
  readonly #db: Database.Database;
  readonly #hooks: WriteQueueHooks;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  readonly #rollback: Database.Statement;
  readonly #savepoint: Database.Statement;
  readonly #release: Database.Statement;
  readonly #rollbackTo: Database.Statement;
  #pending: PendingWrite[] = [];
  #scheduled = false;
  #idleWaiters: Array<() => void> = [];

  constructor(db: Database.Database, hooks: WriteQueueHooks) {
    this.#db = db;
    this.#hooks = hooks;
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#commit = db.prepare("COMMIT");
    this.#rollback = db.prepare("ROLLBACK");
    this.#savepoint = db.prepare("SAVEPOINT write");
    this.#release = db.prepare("RELEASE write");
    this.#rollbackTo = db.prepare("ROLLBACK TO write");
  }

  run<T>(write: Write<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({
        write,
        resolve: resolve as (value: unknown) => void,
        reject,
        enqueuedAt: performance.now(),
      });
      this.#schedule();
    });
  }

  /** Resolves once every write queued so far has committed or failed. */
  drain(): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    const batch = this.#pending.splice(0, MAX_BATCH);
    if (batch.length > 0) this.#commitBatch(batch);
    if (this.#pending.length > 0) {
      this.#schedule();
    } else {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #commitBatch(batch: PendingWrite[]): void {
    const heads = new Map<string, number>();
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.#begin.run();
    } catch (error) {
      this.#failAll(batch, error);
      return;
    }
    for (const pending of batch) {
      const writeHeads = new Map<string, number>();
      const context: WriteContext = {
        noteHead(userId, position) {
          writeHeads.set(userId, position);
        },
      };
      this.#savepoint.run();
      try {
        const value = pending.write(context);
        this.#release.run();
        for (const [userId, position] of writeHeads) heads.set(userId, position);
        outcomes.push({ ok: true, value });
      } catch (error) {
        outcomes.push({ ok: false, error });
        if (!this.#undoWrite()) {
          this.#failAll(batch, error);
          return;
        }
      }
    }
    try {
      this.#commit.run();
    } catch (error) {
      if (this.#db.inTransaction) this.#rollback.run();
      this.#failAll(batch, error);
      return;
    }
    const now = performance.now();
    const latencies = batch.map((pending) => (now - pending.enqueuedAt) / 1000);
    batch.forEach((pending, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) pending.resolve(outcome.value);
      else pending.reject(outcome?.error);
    });
    this.#hooks.committed(heads, batch.length, latencies);
  }

  /**
   * Rolls back one failed write. Returns false when SQLite itself aborted the
   * transaction (a full disk, an I/O error), which fails the whole batch.
   */
  #undoWrite(): boolean {
    try {
      this.#rollbackTo.run();
      this.#release.run();
      return true;
    } catch {
      if (this.#db.inTransaction) this.#rollback.run();
      return false;
    }
  }

  #failAll(batch: PendingWrite[], error: unknown): void {
    this.#hooks.commitFailed(error, batch.length);
    const failure = new ConnectError(
      "the store could not commit the write; retry with backoff",
      Code.Unavailable,
      undefined,
      undefined,
      error,
    );
    for (const pending of batch) pending.reject(failure);
  }
}
