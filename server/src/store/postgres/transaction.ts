/**
 * Runs the PostgreSQL store's calls: a write is one READ COMMITTED
 * transaction on one pooled connection, a read runs its statements on the
 * pool directly. A write of one statement (`writeOne`) needs no BEGIN and
 * COMMIT, because PostgreSQL runs a lone statement as its own transaction.
 *
 *   connect -> BEGIN -> body -> append queued events -> COMMIT -> observer -> resolve
 *                          \-- conflict (40001, 40P01): ROLLBACK, wait, run again
 *                          \-- lost connection, timeout: reject with unavailable
 *
 * A promise from `write` resolves only after COMMIT returned, so the change
 * is durable as far as the server's synchronous_commit setting makes it.
 * Every failure that becomes unavailable or aborted is logged here, once,
 * with the call's ids.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { DatabaseError, type Pool, type PoolClient } from "pg";
import type { Logger } from "pino";
import type { CommittedHeads, StoreObserver } from "../types.js";
import { appendQueued, QueuedEvents, type Queryable } from "./event-log.js";
import { classifyFailure, type FailureContext } from "./failures.js";
import type { Statements } from "./statements.js";

/** The connection and event queue of one write. */
export interface Transaction {
  readonly client: PoolClient;
  readonly statements: Statements;
  /** Queues an event for the end of the user's log; positions are assigned before COMMIT. */
  appendEvent(userId: string, payload: Uint8Array): void;
}

/** The call and the ids it concerns, for log lines. */
export interface CallLabel {
  operation: string;
  userId?: string;
  conversationId?: string;
}

/** Times a write runs when it keeps conflicting with concurrent writes. */
export const MAX_ATTEMPTS = 4;

/** Base of the randomized wait before running a conflicted write again, in ms. */
const RETRY_BASE_MS = 5;

export interface RunnerOptions {
  pool: Pool;
  statements: Statements;
  logger: Logger;
  observer: StoreObserver | undefined;
  failureContext: FailureContext;
}

export class TransactionRunner {
  readonly #options: RunnerOptions;

  constructor(options: RunnerOptions) {
    this.#options = options;
  }

  /** Runs `body` in a transaction, appends the events it queued, commits, and calls the observer. */
  write<T>(label: CallLabel, body: (transaction: Transaction) => Promise<T>): Promise<T> {
    const { statements } = this.#options;
    return this.#run(label, true, async (client, setCommitting) => {
      const queued = new QueuedEvents();
      await client.query("BEGIN");
      const result = await body({ client, statements, appendEvent: (userId, payload) => queued.add(userId, payload) });
      const heads = await appendQueued(client, statements, queued, Date.now());
      setCommitting();
      await client.query("COMMIT");
      return { result, heads };
    });
  }

  /**
   * Runs `body`, which writes with one statement outside an explicit
   * transaction, so that the statement commits on its own. `body` returns
   * the log heads the statement advanced. A lost connection while it runs
   * leaves the outcome unknown, and the caller's error states that.
   */
  writeOne<T>(label: CallLabel, body: (client: PoolClient) => Promise<{ result: T; heads: CommittedHeads }>): Promise<T> {
    return this.#run(label, false, (client, setCommitting) => {
      setCommitting();
      return body(client);
    });
  }

  /**
   * Takes a connection, runs `attempt` on it, and calls the observer after
   * it committed. Runs it again after a conflict. `attempt` calls
   * `setCommitting` when what it sends next may commit. `explicit` is true
   * when `attempt` opens a transaction that a failure must roll back.
   */
  async #run<T>(
    label: CallLabel,
    explicit: boolean,
    attempt: (client: PoolClient, setCommitting: () => void) => Promise<{ result: T; heads: CommittedHeads }>,
  ): Promise<T> {
    const { pool, observer } = this.#options;
    const startedAt = performance.now();
    for (let attemptNumber = 1; ; attemptNumber++) {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw this.#reject(error, label, attemptNumber, false);
      }
      // A connection that breaks between two statements emits "error" on
      // the client. This listener keeps that event from crashing the
      // process, and the next statement fails with "not queryable".
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken = error;
      };
      client.on("error", onError);
      let committing = false;
      let outcome: { result: T; heads: CommittedHeads };
      try {
        outcome = await attempt(client, () => {
          committing = true;
        });
      } catch (error) {
        const reusable = await this.#rollBack(client, error, broken, explicit);
        client.removeListener("error", onError);
        client.release(reusable ? undefined : true);
        if (error instanceof ConnectError) throw error;
        const failure = classifyFailure(error, this.#options.failureContext);
        if (failure.kind === "conflict" && attemptNumber < MAX_ATTEMPTS) {
          this.#options.logger.info(
            { ...label, sqlState: failure.sqlState, attempt: attemptNumber },
            "PostgreSQL transaction conflicted with a concurrent one; running it again",
          );
          await delay(RETRY_BASE_MS * attemptNumber * (1 + Math.random()));
          continue;
        }
        throw this.#reject(error, label, attemptNumber, committing);
      }
      client.removeListener("error", onError);
      client.release();
      if (outcome.heads.size > 0) observer?.eventsCommitted(outcome.heads);
      observer?.batchCommitted?.(1, [(performance.now() - startedAt) / 1000]);
      return outcome.result;
    }
  }

  /** Runs `body` with the pool, so that each statement takes a connection only while it runs. */
  async read<T>(label: CallLabel, body: (db: Queryable) => Promise<T>): Promise<T> {
    try {
      return await body(this.#options.pool);
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      throw this.#reject(error, label, 1, false);
    }
  }

  /**
   * Ends a failed transaction (`explicit`), or a failed lone statement,
   * which PostgreSQL rolled back already. Returns whether the connection can
   * go back to the pool: not when it broke, and not after a client-side
   * failure (a read timeout) that leaves a reply pending on it.
   */
  async #rollBack(client: PoolClient, error: unknown, broken: Error | undefined, explicit: boolean): Promise<boolean> {
    if (broken !== undefined) return false;
    const statementFailed = error instanceof DatabaseError || error instanceof ConnectError;
    if (!statementFailed) {
      const failure = classifyFailure(error, this.#options.failureContext);
      if (failure.kind !== "other") return false;
    }
    if (!explicit) return true;
    try {
      await client.query("ROLLBACK");
      return true;
    } catch {
      return false;
    }
  }

  /** Converts a failure into the error the caller gets, and logs it once. */
  #reject(error: unknown, label: CallLabel, attempts: number, committing: boolean): unknown {
    const failure = classifyFailure(error, this.#options.failureContext);
    const { logger } = this.#options;
    if (failure.kind === "conflict") {
      logger.warn(
        { ...label, sqlState: failure.sqlState, attempts },
        "PostgreSQL transaction kept conflicting with concurrent ones; rejected with aborted",
      );
      return new ConnectError(
        `the write conflicted with concurrent writes ${attempts} times in a row (SQLSTATE ${failure.sqlState}); ` +
          "retry with backoff",
        Code.Aborted,
        undefined,
        undefined,
        error,
      );
    }
    if (failure.kind === "unavailable") {
      logger.warn(
        { ...label, err: error, sqlState: failure.sqlState, committing },
        "PostgreSQL call failed; rejected with unavailable",
      );
      const outcome = committing ? " while it committed, so the write may or may not have been applied" : "";
      return new ConnectError(
        `the database is unavailable: ${failure.reason}${outcome}; retry with backoff`,
        Code.Unavailable,
        undefined,
        undefined,
        error,
      );
    }
    return error;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
