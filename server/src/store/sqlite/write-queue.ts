/**
 * Group commit for SQLite.
 *
 * Every write is a synchronous function queued here. On the next turn of the
 * event loop the queue runs all pending writes in one transaction, each inside
 * its own savepoint when there are several, and commits once, so concurrent
 * requests share one fsync. A write that throws rolls back to its savepoint
 * (or, alone in its transaction, rolls the transaction back) and fails alone;
 * the others commit. Each promise settles only after the COMMIT returned, which with
 * synchronous=FULL means the WAL was fsync'd.
 *
 *   enqueue -> pending --(setImmediate)--> BEGIN, write, write, ... COMMIT -> resolve all
 *
 * better-sqlite3 blocks the event loop during the commit, so requests that
 * arrive meanwhile wait in the socket buffers and form the next batch.
 */
import type Database from "better-sqlite3";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Event } from "@chatwire/gen";

/** The record of a write besides its result: the events it appended to user logs. */
export interface WriteContext {
  /** `event` is the payload decoded, without position, when the write has it. */
  noteEvent(userId: string, position: number, payload: Uint8Array, event: Event | undefined): void;
}

export type Write<T> = (context: WriteContext) => T;

interface PendingWrite {
  write: Write<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  enqueuedAt: number;
}

/** Events one transaction appended, in append order: user ids, positions, payloads and decoded events side by side. */
export interface CommittedEvents {
  readonly userIds: readonly string[];
  readonly positions: readonly number[];
  readonly payloads: readonly Uint8Array[];
  readonly events: ReadonlyArray<Event | undefined>;
}

export interface WriteQueueHooks {
  committed(events: CommittedEvents, size: number, latenciesSeconds: number[]): void;
  commitFailed(error: unknown, size: number): void;
}

/**
 * Writes per transaction. A cap bounds the time one commit holds the event
 * loop; the remainder goes into the next transaction at once.
 */
const MAX_BATCH = 1000;

/** Collects the events of one transaction; a failed write truncates back to its mark. */
class BatchEvents implements WriteContext, CommittedEvents {
  readonly userIds: string[] = [];
  readonly positions: number[] = [];
  readonly payloads: Uint8Array[] = [];
  readonly events: Array<Event | undefined> = [];

  noteEvent(userId: string, position: number, payload: Uint8Array, event: Event | undefined): void {
    this.userIds.push(userId);
    this.positions.push(position);
    this.payloads.push(payload);
    this.events.push(event);
  }

  get mark(): number {
    return this.userIds.length;
  }

  truncate(mark: number): void {
    this.userIds.length = mark;
    this.positions.length = mark;
    this.payloads.length = mark;
    this.events.length = mark;
  }
}

export class WriteQueue {
  readonly #db: Database.Database;
  readonly #hooks: WriteQueueHooks;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  readonly #rollback: Database.Statement;
  readonly #savepoint: Database.Statement;
  readonly #release: Database.Statement;
  readonly #rollbackTo: Database.Statement;
  readonly #flushNow = () => {
    this.#scheduled = false;
    this.#flush();
  };
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
    setImmediate(this.#flushNow);
  }

  #flush(): void {
    let batch: PendingWrite[];
    if (this.#pending.length <= MAX_BATCH) {
      batch = this.#pending;
      this.#pending = [];
    } else {
      batch = this.#pending.splice(0, MAX_BATCH);
    }
    if (batch.length > 0) this.#commitBatch(batch);
    if (this.#pending.length > 0) {
      this.#schedule();
    } else if (this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #commitBatch(batch: PendingWrite[]): void {
    const events = new BatchEvents();
    // Outcome per write: the value, or the error of a write that failed alone.
    const values: unknown[] = new Array(batch.length);
    const failed: boolean[] = new Array(batch.length).fill(false);
    try {
      this.#begin.run();
    } catch (error) {
      this.#failAll(batch, error);
      return;
    }
    if (batch.length === 1) {
      // A lone write needs no savepoint: if it fails, the whole transaction rolls back.
      const only = batch[0] as PendingWrite;
      try {
        values[0] = only.write(events);
      } catch (error) {
        if (!this.#rollbackAll()) {
          this.#failAll(batch, error);
          return;
        }
        only.reject(error);
        return;
      }
    } else {
      for (let index = 0; index < batch.length; index++) {
        const mark = events.mark;
        this.#savepoint.run();
        try {
          values[index] = (batch[index] as PendingWrite).write(events);
          this.#release.run();
        } catch (error) {
          events.truncate(mark);
          values[index] = error;
          failed[index] = true;
          if (!this.#undoWrite()) {
            this.#failAll(batch, error);
            return;
          }
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
    const latencies: number[] = new Array(batch.length);
    for (let index = 0; index < batch.length; index++) {
      const pending = batch[index] as PendingWrite;
      latencies[index] = (now - pending.enqueuedAt) / 1000;
      if (failed[index]) pending.reject(values[index]);
      else pending.resolve(values[index]);
    }
    this.#hooks.committed(events, batch.length, latencies);
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

  /** Rolls back the whole transaction; false when even that failed. */
  #rollbackAll(): boolean {
    try {
      if (this.#db.inTransaction) this.#rollback.run();
      return true;
    } catch {
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
