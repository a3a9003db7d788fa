/** Assertions several scenarios share. */
import assert from "node:assert/strict";

import type { Message } from "@chatwire/gen";

import type { ClientEvent, RuntimeClient, StoredMessage } from "../runtimes/types.js";

/**
 * Asserts that `stored` contains exactly `texts`, in that order, with strictly
 * rising seqs and no idempotency key twice.
 */
export function assertExactlyOnceInOrder(stored: readonly StoredMessage[], texts: readonly string[], label: string): void {
  assert.deepEqual(
    stored.map((message) => message.text),
    [...texts],
    `${label}: expected exactly ${texts.length} messages in send order`,
  );
  assertSeqsRise(stored, label);
  const keys = new Set(stored.map((message) => message.clientMessageId));
  assert.equal(keys.size, stored.length, `${label}: a client_message_id appears more than once`);
}

/** Asserts that a conversation view shows no message twice (an outbox entry next to its committed copy, a replay). */
export function assertNoRepeats(view: readonly { clientMessageId: string }[], label: string): void {
  const seen = new Set<string>();
  for (const item of view) {
    assert.ok(!seen.has(item.clientMessageId), `${label}: message ${item.clientMessageId} is shown twice`);
    seen.add(item.clientMessageId);
  }
}

/** Asserts that seqs rise strictly, the order every member must see. */
export function assertSeqsRise(stored: readonly { seq: number }[], label: string): void {
  for (let i = 1; i < stored.length; i++) {
    const previous = stored[i - 1]!.seq;
    const current = stored[i]!.seq;
    assert.ok(current > previous, `${label}: seq ${current} at index ${i} does not follow seq ${previous}`);
  }
}

/**
 * Asserts that a client stores exactly the server's history of a
 * conversation: the same seqs, idempotency keys, senders and texts.
 */
export function assertMatchesServer(stored: readonly StoredMessage[], server: readonly Message[], label: string): void {
  assert.equal(stored.length, server.length, `${label}: stored ${stored.length} messages; the server has ${server.length}`);
  assert.deepEqual(
    stored.map((m) => ({ seq: m.seq, clientMessageId: m.clientMessageId, senderId: m.senderId, text: m.text })),
    server.map((m) => ({ seq: Number(m.seq), clientMessageId: m.clientMessageId, senderId: m.senderId, text: m.text })),
    `${label}: the stored messages differ from the server's history`,
  );
}

/** Asserts that two strings have the same UTF-8 bytes, and names the first difference. */
export function assertSameBytes(actual: string, expected: string, label: string): void {
  const a = Buffer.from(actual, "utf8");
  const b = Buffer.from(expected, "utf8");
  if (a.equals(b)) return;
  let index = 0;
  while (index < a.length && index < b.length && a[index] === b[index]) index++;
  assert.fail(
    `${label}: ${a.length} bytes received, ${b.length} expected; first difference at byte ${index} ` +
      `(received 0x${(a[index] ?? 0).toString(16)}, expected 0x${(b[index] ?? 0).toString(16)})`,
  );
}

/** Returns the connection state changes from the recorded events. */
export function connectionChanges(events: readonly ClientEvent[]): Extract<ClientEvent, { type: "connection" }>[] {
  return events.filter((event): event is Extract<ClientEvent, { type: "connection" }> => event.type === "connection");
}

/** Sleeps; only for letting a quiet period pass, never as a correctness wait. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves like `promise`, or rejects with `message` when it takes longer than `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls the client's recorded events until one matches; rejects after `timeoutMs` naming `what`. */
export async function waitForEvent(
  client: RuntimeClient,
  matches: (event: ClientEvent) => boolean,
  timeoutMs: number,
  what: string,
): Promise<ClientEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await client.events();
    const found = events.find(matches);
    if (found) return found;
    if (Date.now() >= deadline) {
      const recent = events.slice(-5).map((event) => JSON.stringify(event)).join("; ");
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last events: ${recent}`);
    }
    await pause(50);
  }
}

/**
 * Returns the Connect code name of an error from a RuntimeClient call: the
 * SDK's `codeName` for a client in this process, `code` for one in a host.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { codeName, code } = error as { codeName?: unknown; code?: unknown };
  if (typeof codeName === "string") return codeName;
  return typeof code === "string" ? code : undefined;
}

/** Counts the "message" events the client recorded per clientMessageId. */
export function messageEventCounts(events: readonly ClientEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) {
    if (event.type === "message") counts.set(event.clientMessageId, (counts.get(event.clientMessageId) ?? 0) + 1);
  }
  return counts;
}

/** Polls `read` until `done` holds; rejects after `timeoutMs` naming `what`. */
export async function pollUntil<T>(read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await pause(50);
  }
}
