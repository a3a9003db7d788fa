/** The per-user event logs of the PostgreSQL store: append, read and prune. */
import { fromBinary } from "@bufbuild/protobuf";
import { EventSchema, type Event } from "@chatwire/gen";
import type { ClientBase, Pool } from "pg";
import type { CommittedHeads, LogBounds } from "../types.js";
import type { Statement, Statements } from "./statements.js";

/** A pool (one statement per checkout) or a client inside a transaction. */
export type Queryable = Pool | ClientBase;

/** Runs a prepared statement and returns its rows. */
export async function query<Row>(db: Queryable, statement: Statement, values: unknown[]): Promise<Row[]> {
  const result = await db.query({ name: statement.name, text: statement.text, values });
  return result.rows as Row[];
}

/**
 * Events a transaction appends, in append order. Their positions are
 * assigned all at once at the end of the transaction (`appendQueued`), so
 * that the head rows are locked last and in user id order.
 */
export class QueuedEvents {
  readonly userIds: string[] = [];
  readonly payloads: Uint8Array[] = [];

  add(userId: string, payload: Uint8Array): void {
    this.userIds.push(userId);
    this.payloads.push(payload);
  }
}

/**
 * Advances the head of every log that gets events, then inserts the events
 * at their positions. Returns the new head of each log. Events for one user
 * keep their append order.
 */
export async function appendQueued(
  client: ClientBase,
  statements: Statements,
  queued: QueuedEvents,
  now: number,
): Promise<CommittedHeads> {
  const count = queued.userIds.length;
  if (count === 0) return new Map();

  const appended = new Map<string, number>();
  for (const userId of queued.userIds) appended.set(userId, (appended.get(userId) ?? 0) + 1);
  const heads = new Map<string, number>();
  const rows = await query<{ user_id: string; head: number }>(client, statements.advanceHeads, [
    [...appended.keys()],
    [...appended.values()],
  ]);
  for (const row of rows) heads.set(row.user_id, row.head);

  // A message event is one payload shared by every member, so each distinct
  // payload is sent once and the rows refer to it by index (1-based, as
  // PostgreSQL arrays are).
  const payloadIndex = new Map<Uint8Array, number>();
  const payloads: Buffer[] = [];
  const indexes: number[] = new Array(count);
  const positions: number[] = new Array(count);
  const next = new Map<string, number>();
  for (let index = 0; index < count; index++) {
    const userId = queued.userIds[index] as string;
    const payload = queued.payloads[index] as Uint8Array;
    let payloadNumber = payloadIndex.get(payload);
    if (payloadNumber === undefined) {
      payloads.push(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
      payloadNumber = payloads.length;
      payloadIndex.set(payload, payloadNumber);
    }
    indexes[index] = payloadNumber;
    // The first of n new events goes to head - n + 1.
    const position = next.get(userId) ?? (heads.get(userId) as number) - (appended.get(userId) as number) + 1;
    positions[index] = position;
    next.set(userId, position + 1);
  }
  await query(client, statements.insertEvents, [queued.userIds, positions, now, payloads, indexes]);
  return heads;
}

export async function readEvents(
  db: Queryable,
  statements: Statements,
  userId: string,
  afterPosition: number,
  limit: number,
): Promise<Event[]> {
  const rows = await query<{ position: number; payload: Buffer }>(db, statements.eventsAfter, [
    userId,
    afterPosition,
    limit,
  ]);
  return rows.map((row) => {
    const event = fromBinary(EventSchema, row.payload);
    event.position = BigInt(row.position);
    return event;
  });
}

export async function logBounds(db: Queryable, statements: Statements, userId: string): Promise<LogBounds> {
  const rows = await query<{ head: number; pruned_through: number }>(db, statements.logBounds, [userId]);
  const row = rows[0];
  return { head: row?.head ?? 0, prunedThrough: row?.pruned_through ?? 0 };
}

/** Logs pruned per transaction, so that one prune step holds its locks briefly. */
export const PRUNE_LOGS_PER_STEP = 200;

/**
 * Oldest expired events one prune step looks at. Within a log, lower
 * positions are older events, so a step deletes about this many events at
 * most.
 */
export const PRUNE_EVENTS_PER_STEP = 10_000;

/**
 * Deletes the expired prefix of up to PRUNE_LOGS_PER_STEP logs, as far as
 * the oldest PRUNE_EVENTS_PER_STEP expired events reach, and raises their
 * pruned_through. Returns the logs touched, each with the position it was
 * pruned through, and the number of events deleted; the caller repeats
 * while logs were touched.
 */
export async function pruneStep(
  client: ClientBase,
  statements: Statements,
  cutoffMs: number,
): Promise<{ logs: Array<{ userId: string; through: number }>; events: number }> {
  const expired = await query<{ user_id: string; through: number }>(client, statements.expiredLogs, [
    cutoffMs,
    PRUNE_LOGS_PER_STEP,
    PRUNE_EVENTS_PER_STEP,
  ]);
  if (expired.length === 0) return { logs: [], events: 0 };
  const userIds = expired.map((row) => row.user_id);
  const through = expired.map((row) => row.through);
  // Head rows are locked in user id order, as writers lock them.
  await query(client, statements.lockLogs, [userIds]);
  await query(client, statements.raisePrunedThrough, [userIds, through]);
  const deleted = await client.query({
    name: statements.deleteEventsThrough.name,
    text: statements.deleteEventsThrough.text,
    values: [userIds, through],
  });
  return {
    logs: expired.map((row) => ({ userId: row.user_id, through: row.through })),
    events: deleted.rowCount ?? 0,
  };
}
