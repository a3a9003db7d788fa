/**
 * Sync cursors: pages of every size resume from each page's cursor with no
 * loss or repeat, and a cursor this server did not issue to the caller is
 * invalid_argument CURSOR_INVALID in Sync, Subscribe and Acknowledge.
 */
import assert from "node:assert/strict";

import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";

import { expectRejected } from "../assertions.js";
import { WIRE_PROTOCOLS, type CaseContext, type ServerCase, type SuiteUser } from "../types.js";
import { assertConsecutive, positionsOf } from "./helpers.js";

const MESSAGES = 11;
/** How long a Subscribe with a rejected cursor may stay open before it counts as accepted, in ms. */
const SUBSCRIBE_DEADLINE_MS = 10_000;

/** Sync limits tried against a log of `total` events, including one whose pages end exactly at the end. */
function pageSizes(total: number, maxPageSize: number): number[] {
  const divisor = [6, 4, 3, 2].find((size) => total % size === 0 && size < total) ?? 1;
  return [...new Set([1, 5, divisor, total, total + 1])].filter((size) => size <= maxPageSize);
}

const paging: ServerCase = {
  id: "server.cursor.paging",
  title: "Sync pages of each size, resumed from every page's cursor, return each event once in position order",
  profile: "core",
  guarantees: ["G5 differential sync by cursor"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    for (let index = 0; index < MESSAGES; index++) await alice.send(conversationId, `page test ${index}`);

    const whole = await bob.syncAll();
    const all = positionsOf(whole.events);
    assert.ok(all.length >= MESSAGES + 1, `bob's log has the conversation and ${MESSAGES} message events; got ${all.length} events`);
    assertConsecutive("bob's whole log", all, 1);

    for (const size of pageSizes(all.length, context.limits.maxPageSize)) {
      context.step(`pages of ${size}`);
      await checkPages(bob, size, all);
    }

    const end = await bob.chat.sync({ cursor: whole.cursor, deviceId: bob.deviceId });
    assert.deepEqual(end.events, [], "Sync from the cursor at the end returns no events");
    assert.equal(end.hasMore, false, "Sync from the cursor at the end has has_more false");
    assert.equal(end.nextCursor, whole.cursor, "an empty page returns the request cursor as next_cursor");
  },
};

/** Walks the log in pages of `size` and resumes from each page's cursor, comparing with `all`. */
async function checkPages(user: SuiteUser, size: number, all: readonly number[]): Promise<void> {
  let cursor = "";
  let seen: number[] = [];
  for (let page = 1; ; page++) {
    const response = await user.chat.sync({ cursor, deviceId: user.deviceId, limit: size });
    const positions = positionsOf(response.events);
    const remaining = all.length - seen.length;
    const label = `limit ${size}, page ${page}`;
    assert.equal(positions.length, Math.min(size, remaining), `${label}: a page holds min(limit, remaining) events`);
    seen = [...seen, ...positions];
    assert.deepEqual(seen, all.slice(0, seen.length), `${label}: pages continue the log without loss or repeat`);
    assert.equal(response.hasMore, seen.length < all.length, `${label}: has_more is true exactly while events follow`);

    const resumed = await user.syncAll(response.nextCursor);
    assert.deepEqual(positionsOf(resumed.events), all.slice(seen.length), `${label}: resuming from its cursor returns exactly the rest`);
    if (!response.hasMore) return;
    cursor = response.nextCursor;
    assert.ok(page <= all.length, `${label}: more pages than events`);
  }
}

const garbageCursor: ServerCase = {
  id: "server.cursor.garbage",
  title: "a cursor the server never issued is invalid_argument CURSOR_INVALID in Sync, Subscribe and Acknowledge",
  profile: "core",
  guarantees: ["G5 differential sync by cursor", "G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    await alice.createDirect(context.user("bob").userId);
    const garbage = ["not a cursor", "0", "....", "x".repeat(1_000), "\u00e9\u{1F600}"];
    for (const cursor of garbage) {
      await expectCursorRejected(context, alice, cursor, `cursor ${JSON.stringify(cursor.slice(0, 20))}`);
    }
  },
};

const otherUsersCursor: ServerCase = {
  id: "server.cursor.other-user",
  title: "another user's cursor is invalid_argument CURSOR_INVALID, even at a position the caller's log has",
  profile: "core",
  guarantees: ["G5 differential sync by cursor", "G12 authenticated and authorized"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const dave = context.user("dave");
    await alice.createDirect(context.user("carol").userId);
    const bobsConversation = await dave.createDirect(bob.userId);
    for (let index = 0; index < 3; index++) await dave.send(bobsConversation, `for bob ${index}`);

    const alicePage = await alice.chat.sync({ deviceId: alice.deviceId, limit: 1 });
    assert.equal(alicePage.events.length, 1, "alice's first page holds one event");
    // Bob's log is longer than alice's, so only the cursor's binding to alice can reject it.
    await expectCursorRejected(context, bob, alicePage.nextCursor, "alice's cursor used by bob");

    const own = await bob.chat.sync({ deviceId: bob.deviceId, limit: 1 });
    const rest = await bob.syncAll(own.nextCursor);
    assert.ok(rest.events.length >= 3, "bob's own cursor still works");
  },
};

async function expectCursorRejected(context: CaseContext, user: SuiteUser, cursor: string, label: string): Promise<void> {
  const expected = { code: Code.InvalidArgument, reason: ErrorReason.CURSOR_INVALID, field: "cursor" };
  await expectRejected(`Sync with ${label}`, user.chat.sync({ cursor, deviceId: user.deviceId }), expected);
  await expectRejected(`Acknowledge with ${label}`, user.chat.acknowledge({ cursor, deviceId: user.deviceId }), expected);
  // A server may send its first heartbeat before it checks the cursor, so
  // the stream is read until it fails, a batch arrives or the deadline passes.
  const call = user.chat.subscribe({ cursor, deviceId: user.deviceId }, { timeoutMs: SUBSCRIBE_DEADLINE_MS });
  const stream = call[Symbol.asyncIterator]();
  try {
    await expectRejected(`Subscribe with ${label}`, async () => {
      for (let frame = await stream.next(); !frame.done; frame = await stream.next()) {
        if (frame.value.kind.case === "batch") return;
      }
    }, expected);
  } finally {
    await stream.return?.();
  }
  context.step(`${label} rejected`);
}

export const cursorCases: readonly ServerCase[] = [paging, garbageCursor, otherUsersCursor];
