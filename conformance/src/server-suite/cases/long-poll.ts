/**
 * Long-poll Sync: with wait_ms it returns as soon as an event commits, and
 * an empty page at the cursor once wait_ms has passed without one. wait_ms
 * above ServerLimits.max_long_poll_ms is invalid_argument naming the limit.
 */
import assert from "node:assert/strict";

import { Code } from "@connectrpc/connect";
import { ErrorReason, type ServerLimits } from "@chatwire/gen";

import { expectRejected } from "../assertions.js";
import { WIRE_PROTOCOLS, type ServerCase } from "../types.js";
import { delay, messagesIn } from "./helpers.js";

/** The wait of the wake-up case: long enough that an early return is plain. */
const WAKE_WAIT_MS = 20_000;
/** A long-poll must return within this long after the event committed, in ms. */
const WAKE_BOUND_MS = 3_000;
/** The wait of the time-out case. */
const IDLE_WAIT_MS = 1_500;
/** How much earlier than wait_ms an empty long-poll may return: 10 % of the wait plus 50 ms of timer slack. */
function earliestReturn(waitMs: number): number {
  return waitMs * 0.9 - 50;
}
/** How much later than wait_ms an empty long-poll may return, in ms. */
const LATE_SLACK_MS = 3_000;
const UINT32_MAX = 2 ** 32 - 1;

function wakeWaitMs(limits: ServerLimits): number {
  return Math.min(limits.maxLongPollMs, WAKE_WAIT_MS);
}

const wakesEarly: ServerCase = {
  id: "server.long-poll.wakes",
  title: "a waiting long-poll Sync returns as soon as an event commits",
  profile: "core",
  guarantees: ["G6 real-time with fallback"],
  protocols: WIRE_PROTOCOLS,
  extraTimeoutMs: wakeWaitMs,
  async run(context) {
    const waitMs = wakeWaitMs(context.limits);
    if (waitMs < 2 * WAKE_BOUND_MS) {
      context.skip(`max_long_poll_ms is ${context.limits.maxLongPollMs}; an early return cannot be told from a timeout below ${2 * WAKE_BOUND_MS} ms`);
    }
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    const head = await bob.syncAll();

    const polling = bob.chat.sync({ cursor: head.cursor, deviceId: bob.deviceId, waitMs });
    await delay(300);
    await alice.send(conversationId, "wake up");
    const committedAt = performance.now();
    const page = await polling;
    const afterCommitMs = performance.now() - committedAt;

    assert.deepEqual(
      messagesIn(page.events, conversationId).map((message) => message.text),
      ["wake up"],
      "the long-poll returns the committed message",
    );
    assert.ok(afterCommitMs < WAKE_BOUND_MS, `the long-poll returned ${Math.round(afterCommitMs)} ms after the commit; expected under ${WAKE_BOUND_MS} ms with wait_ms ${waitMs}`);
    assert.notEqual(page.nextCursor, head.cursor, "the page's next_cursor moves past the event");
  },
};

const timesOut: ServerCase = {
  id: "server.long-poll.times-out",
  title: "a long-poll Sync without events returns an empty page at the cursor after about wait_ms",
  profile: "core",
  guarantees: ["G6 real-time with fallback"],
  protocols: WIRE_PROTOCOLS,
  extraTimeoutMs: (limits) => Math.min(limits.maxLongPollMs, IDLE_WAIT_MS),
  async run(context) {
    const waitMs = Math.min(context.limits.maxLongPollMs, IDLE_WAIT_MS);
    if (waitMs === 0) context.skip("max_long_poll_ms is 0: the server does not long-poll");
    const bob = context.user("bob");
    await context.user("alice").createDirect(bob.userId);
    const head = await bob.syncAll();

    const started = performance.now();
    const page = await bob.chat.sync({ cursor: head.cursor, deviceId: bob.deviceId, waitMs });
    const elapsedMs = performance.now() - started;

    assert.deepEqual(page.events, [], "no events arrive");
    assert.equal(page.hasMore, false, "has_more is false");
    assert.equal(page.nextCursor, head.cursor, "next_cursor is the request cursor");
    assert.ok(elapsedMs >= earliestReturn(waitMs), `the long-poll returned after ${Math.round(elapsedMs)} ms; wait_ms was ${waitMs}`);
    assert.ok(elapsedMs <= waitMs + LATE_SLACK_MS, `the long-poll returned after ${Math.round(elapsedMs)} ms; wait_ms was ${waitMs}`);
  },
};

const overMaximum: ServerCase = {
  id: "server.long-poll.over-max",
  title: "wait_ms one above max_long_poll_ms is invalid_argument FIELD_TOO_LARGE naming the limit",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const maximum = context.limits.maxLongPollMs;
    if (maximum >= UINT32_MAX) context.skip(`max_long_poll_ms is ${maximum}, the largest uint32; no wait_ms exceeds it`);
    const bob = context.user("bob");
    await expectRejected("Sync with wait_ms over the maximum", bob.chat.sync({ deviceId: bob.deviceId, waitMs: maximum + 1 }), {
      code: Code.InvalidArgument,
      reason: ErrorReason.FIELD_TOO_LARGE,
      field: "wait_ms",
      limit: maximum,
      actual: maximum + 1,
    });
    // Events follow the empty cursor, so a Sync that accepts wait_ms returns at once.
    await context.user("alice").createDirect(bob.userId);
    const atMaximum = await bob.chat.sync({ deviceId: bob.deviceId, waitMs: maximum });
    assert.ok(atMaximum.events.length > 0, "wait_ms equal to the maximum is accepted");
  },
};

export const longPollCases: readonly ServerCase[] = [wakesEarly, timesOut, overMaximum];
