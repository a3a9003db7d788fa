/**
 * The cursor at the end of the log: Sync with from_end returns no events and
 * a cursor after which Sync returns exactly the events committed later. A
 * client that rebuilds its state from ListConversations and GetHistory takes
 * this cursor first, so these events are all it still needs.
 */
import assert from "node:assert/strict";

import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";

import { expectRejected } from "../assertions.js";
import { WIRE_PROTOCOLS, type ServerCase } from "../types.js";
import { messagesIn, positionsOf } from "./helpers.js";

const BEFORE = 4;
const AFTER = 3;

const endCursor: ServerCase = {
  id: "server.cursor.from-end",
  title: "Sync with from_end returns no events and a cursor after which Sync returns only events committed later",
  profile: "core",
  guarantees: ["G5 differential sync by cursor", "G11 nobody misses a message"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    for (let index = 0; index < BEFORE; index++) await alice.send(conversationId, `before ${index}`);
    const before = await bob.syncAll();

    context.step("take the end cursor");
    const end = await bob.chat.sync({ deviceId: bob.deviceId, fromEnd: true, limit: 1 });
    assert.deepEqual(positionsOf(end.events), [], "Sync with from_end returns no events");
    assert.equal(end.hasMore, false, "Sync with from_end has has_more false");
    assert.notEqual(end.nextCursor, "", "Sync with from_end returns a cursor");
    const none = await bob.syncAll(end.nextCursor);
    assert.deepEqual(positionsOf(none.events), [], "Sync from the end cursor before any new commit returns no events");

    context.step("commit after the end cursor");
    for (let index = 0; index < AFTER; index++) await alice.send(conversationId, `after ${index}`);
    const later = await bob.syncAll(end.nextCursor);
    const texts = messagesIn(later.events, conversationId).map((message) => message.text);
    assert.deepEqual(texts, ["after 0", "after 1", "after 2"], "Sync from the end cursor returns exactly the later messages");
    const lastBefore = positionsOf(before.events).at(-1) ?? 0;
    assert.equal(positionsOf(later.events)[0], lastBefore + 1, "the first later event follows the last event before the end cursor");

    context.step("reject from_end with a cursor");
    await expectRejected(
      "Sync with from_end and a cursor",
      bob.chat.sync({ cursor: before.cursor, deviceId: bob.deviceId, fromEnd: true }),
      { code: Code.InvalidArgument, reason: ErrorReason.FIELD_INVALID, field: "cursor" },
    );
  },
};

export const endCursorCases: readonly ServerCase[] = [endCursor];
