/**
 * Idempotent SendMessage: the server stores each (sender, client_message_id)
 * once. A retry with the same conversation and text returns the stored
 * message; the same key with other content is already_exists.
 */
import assert from "node:assert/strict";

import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";

import { uuidv7 } from "../../scenarios/protocol.js";
import { expectRejected } from "../assertions.js";
import { WIRE_PROTOCOLS, type ServerCase } from "../types.js";
import { messagesIn, readHistory } from "./helpers.js";

const CONCURRENT_DUPLICATES = 8;

const replay: ServerCase = {
  id: "server.idempotency.replay",
  title: "a retry with the same key returns the stored message, replayed, and stores nothing new",
  profile: "core",
  guarantees: ["G2 exactly-once effect", "G3 server ack"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    const key = uuidv7();

    const first = await alice.send(conversationId, "hello once", key);
    assert.equal(first.replayed, false, "the first send must not be marked replayed");
    assert.equal(first.message?.seq, 1n, "the first message of a conversation has seq 1");
    assert.equal(first.message?.clientMessageId, key, "the stored message keeps the client_message_id");

    const retry = await alice.send(conversationId, "hello once", key);
    assert.equal(retry.replayed, true, "a retry must be marked replayed");
    assert.equal(retry.message?.messageId, first.message?.messageId, "a retry returns the same message_id");
    assert.equal(retry.message?.seq, first.message?.seq, "a retry returns the same seq");
    assert.equal(retry.message?.text, "hello once", "a retry returns the stored text");

    await alice.send(conversationId, "the next message");
    const late = await alice.send(conversationId, "hello once", key);
    assert.equal(late.replayed, true, "a retry after later messages is still a replay");
    assert.equal(late.message?.seq, 1n, "a retry after later messages keeps seq 1");

    const history = await readHistory(bob, conversationId);
    assert.deepEqual(history.map((message) => message.text), ["hello once", "the next message"], "history holds each message once");
    const synced = messagesIn((await bob.syncAll()).events, conversationId);
    assert.deepEqual(synced.map((message) => message.seq), [1n, 2n], "the receiver's log holds one event per message");
  },
};

const keyReused: ServerCase = {
  id: "server.idempotency.key-reused",
  title: "the same key with other text or another conversation is already_exists IDEMPOTENCY_KEY_REUSED",
  profile: "core",
  guarantees: ["G2 exactly-once effect"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const carol = context.user("carol");
    const first = await alice.createDirect(bob.userId);
    const second = await alice.createDirect(carol.userId);
    const key = uuidv7();
    await alice.send(first, "the original text", key);

    const expected = { code: Code.AlreadyExists, reason: ErrorReason.IDEMPOTENCY_KEY_REUSED, field: "client_message_id" };
    await expectRejected("the same key with other text", alice.send(first, "other text", key), expected);
    await expectRejected("the same key in another conversation", alice.send(second, "the original text", key), expected);

    assert.deepEqual(
      (await readHistory(alice, first)).map((message) => message.text),
      ["the original text"],
      "a rejected reuse stores nothing in the first conversation",
    );
    assert.deepEqual(await readHistory(alice, second), [], "a rejected reuse stores nothing in the other conversation");
    const retry = await alice.send(first, "the original text", key);
    assert.equal(retry.replayed, true, "the original content still replays after a rejected reuse");
  },
};

const concurrent: ServerCase = {
  id: "server.idempotency.concurrent",
  title: `${CONCURRENT_DUPLICATES} concurrent sends with one key commit once and all return the same message`,
  profile: "core",
  guarantees: ["G2 exactly-once effect"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    const key = uuidv7();

    const responses = await Promise.all(
      Array.from({ length: CONCURRENT_DUPLICATES }, () => alice.send(conversationId, "sent in parallel", key)),
    );
    const ids = new Set(responses.map((response) => response.message?.messageId));
    assert.equal(ids.size, 1, `every duplicate returns the same message_id; got ${[...ids].join(", ")}`);
    assert.deepEqual(
      responses.map((response) => response.message?.seq),
      responses.map(() => 1n),
      "every duplicate returns seq 1",
    );
    const committed = responses.filter((response) => !response.replayed).length;
    assert.equal(committed, 1, "exactly one of the duplicates is not marked replayed");

    assert.equal((await readHistory(bob, conversationId)).length, 1, "history holds the message once");
    assert.equal(messagesIn((await bob.syncAll()).events, conversationId).length, 1, "the receiver's log holds one event");
  },
};

export const idempotencyCases: readonly ServerCase[] = [replay, keyReused, concurrent];
