/** The per-user event logs of the SQLite store: append, read and prune. */
import { fromBinary } from "@bufbuild/protobuf";
import { EventSchema, type Event } from "@chatwire/gen";
import type { LogBounds } from "../types.js";
import type { Statements } from "./statements.js";
import type { WriteContext } from "./write-queue.js";

/**
 * Appends one event at the next position of the user's log; call inside a
 * write. `event` is the decoded payload when the caller has it, so that live
 * readers need not decode it again.
 */
export function appendEvent(
  statements: Statements,
  context: WriteContext,
  userId: string,
  payload: Uint8Array,
  now: number,
  event?: Event,
): number {
  const position = statements.advanceHead.get(userId) as number;
  statements.insertEvent.run(userId, position, now, payload);
  context.noteEvent(userId, position, payload, event);
  return position;
}

export function readEvents(statements: Statements, userId: string, afterPosition: number, limit: number): Event[] {
  const rows = statements.eventsAfter.all(userId, afterPosition, limit) as Array<{
    position: number;
    payload: Uint8Array;
  }>;
  return rows.map((row) => {
    const event = fromBinary(EventSchema, row.payload);
    event.position = BigInt(row.position);
    return event;
  });
}

export function logBounds(statements: Statements, userId: string): LogBounds {
  const row = statements.logBounds.get(userId) as { head: number; pruned_through: number } | undefined;
  return { head: row?.head ?? 0, prunedThrough: row?.pruned_through ?? 0 };
}

/** Logs pruned per transaction, so that one prune step holds the writer briefly. */
export const PRUNE_LOGS_PER_STEP = 200;

/**
 * Deletes the expired prefix of up to PRUNE_LOGS_PER_STEP logs and raises
 * their pruned_through. Returns the logs touched, each with the position it
 * was pruned through, and the number of events deleted; the caller repeats
 * while logs were touched.
 */
export function pruneStep(
  statements: Statements,
  cutoffMs: number,
): { logs: Array<{ userId: string; through: number }>; events: number } {
  const expired = statements.expiredHeads.all(cutoffMs, PRUNE_LOGS_PER_STEP) as Array<{
    user_id: string;
    through: number;
  }>;
  let events = 0;
  const logs: Array<{ userId: string; through: number }> = [];
  for (const { user_id: userId, through } of expired) {
    statements.raisePrunedThrough.run(through, userId);
    events += statements.deleteEventsThrough.run(userId, through).changes;
    logs.push({ userId, through });
  }
  return { logs, events };
}
