/**
 * Retention: a cursor behind the events the server still keeps is
 * out_of_range CURSOR_EXPIRED, so a client rebuilds instead of showing a
 * silent hole. Runs only against a server with a short retention, whose
 * length ServerSuiteOptions.shortRetentionMs gives.
 */
import assert from "node:assert/strict";

import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";

import { expectRejected } from "../assertions.js";
import { WIRE_PROTOCOLS, type ServerCase } from "../types.js";
import { delay, messagesIn, readHistory } from "./helpers.js";

/** How long a Subscribe with an expired cursor may stay open before it counts as accepted, in ms. */
const SUBSCRIBE_DEADLINE_MS = 10_000;

const cursorExpired: ServerCase = {
  id: "server.retention.cursor-expired",
  title: "a cursor behind the retained events is out_of_range CURSOR_EXPIRED; history and fresh cursors still work",
  profile: "core",
  guarantees: ["G7 gap and expiry detection"],
  protocols: WIRE_PROTOCOLS,
  extraTimeoutMs: (_limits, shortRetentionMs) => shortRetentionMs ?? 0,
  async run(context) {
    const waitMs = context.shortRetentionMs;
    if (waitMs === undefined) {
      return context.skip(
        "the server's retention was not given as short (--short-retention-ms, or shortRetentionMs in runServerSuite), so no cursor can be made to expire",
      );
    }
    const retentionMs = Number(context.limits.eventRetentionSeconds) * 1000;
    assert.ok(
      waitMs >= retentionMs,
      `the short retention given is ${waitMs} ms, but the server advertises event_retention_seconds ` +
        `${context.limits.eventRetentionSeconds} (${retentionMs} ms); give at least its retention plus its deletion interval`,
    );
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    const start = await bob.syncAll();
    await alice.send(conversationId, "soon deleted from the log");
    const before = await bob.syncAll(start.cursor);
    assert.equal(messagesIn(before.events, conversationId).length, 1, "the message is in bob's log before retention passes");

    context.step(`waiting ${waitMs} ms for retention`);
    await delay(waitMs);

    const expected = { code: Code.OutOfRange, reason: ErrorReason.CURSOR_EXPIRED, field: "cursor" };
    await expectRejected("Sync from a cursor behind retention", bob.chat.sync({ cursor: start.cursor, deviceId: bob.deviceId }), expected);
    const stream = bob.chat.subscribe({ cursor: start.cursor, deviceId: bob.deviceId }, { timeoutMs: SUBSCRIBE_DEADLINE_MS });
    await expectRejected("Subscribe from a cursor behind retention", async () => {
      for await (const frame of stream) {
        if (frame.kind.case === "batch") return;
      }
    }, expected);

    const fresh = await bob.syncAll();
    assert.equal(messagesIn(fresh.events, conversationId).length, 0, "an empty cursor starts after the deleted events");
    const latest = await bob.syncAll(before.cursor);
    assert.deepEqual(latest.events, [], "the cursor at the head of the log still works");
    const history = await readHistory(bob, conversationId);
    assert.deepEqual(history.map((message) => message.text), ["soon deleted from the log"], "retention deletes log events, not messages");
  },
};

export const retentionCases: readonly ServerCase[] = [cursorExpired];
