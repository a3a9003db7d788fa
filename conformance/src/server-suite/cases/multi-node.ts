/**
 * Several nodes behind one URL: calls of one user that arrive on different
 * connections behave as on one server. Every call made through
 * onNewConnection opens a TCP connection of its own, so behind a round-robin
 * balancer consecutive calls land on different nodes. A single server passes
 * these cases too, so they test something only on a deployment of several
 * nodes.
 */
import assert from "node:assert/strict";

import { createClient, type Client } from "@connectrpc/connect";
import { ChatService } from "@chatwire/gen";

import { uuidv7 } from "../../scenarios/protocol.js";
import { recordStream } from "../streams.js";
import { bearerInterceptor, createShapedTransport, DEFAULT_SHAPES } from "../transports.js";
import { WIRE_PROTOCOLS, type CaseContext, type ServerCase, type SuiteUser } from "../types.js";
import { assertConsecutive, delay, messagesIn, positionsOf } from "./helpers.js";

/** Messages each case sends: enough that a three-node round robin visits every node more than once. */
const MESSAGES = 7;
/** An event must reach a waiting stream or long-poll within this long after its commit, in ms. */
const WAKE_BOUND_MS = 3_000;
/** The wait_ms of each long-poll: long enough that an early return is plain. */
const LONG_POLL_WAIT_MS = 15_000;

/** Returns a ChatService client of `user` on a new connection: a new HTTP/2 session, or one HTTP/1.1 connection per request. */
function onNewConnection(context: CaseContext, user: SuiteUser): Client<typeof ChatService> {
  const transport = createShapedTransport(context.baseUrl, DEFAULT_SHAPES[context.protocol], [bearerInterceptor(() => user.token())], {
    connectionPerRequest: true,
  });
  return createClient(ChatService, transport);
}

const cursorAcrossConnections: ServerCase = {
  id: "server.multi-node.cursor-across-connections",
  title: "Sync pages and Acknowledge, each on a new connection, resume from the previous page's cursor without loss or repeat",
  profile: "multi-node",
  guarantees: ["G5 differential sync by cursor"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    for (let index = 0; index < MESSAGES; index++) await alice.send(conversationId, `across ${index}`);
    const whole = await bob.syncAll();
    const all = positionsOf(whole.events);

    let cursor = "";
    const seen: number[] = [];
    for (let page = 1; page <= all.length; page++) {
      const response = await onNewConnection(context, bob).sync({ cursor, deviceId: bob.deviceId, limit: 1 }, { signal: context.signal });
      seen.push(...positionsOf(response.events));
      assert.deepEqual(seen, all.slice(0, seen.length), `page ${page} on a new connection continues the log without loss or repeat`);
      await onNewConnection(context, bob).acknowledge({ cursor: response.nextCursor, deviceId: bob.deviceId }, { signal: context.signal });
      cursor = response.nextCursor;
      if (!response.hasMore) break;
    }
    assertConsecutive("bob's log read one page per connection", seen, 1);
    assert.equal(seen.length, all.length, "the pages on new connections hold the whole log");

    const end = await onNewConnection(context, bob).sync({ cursor, deviceId: bob.deviceId }, { signal: context.signal });
    assert.deepEqual(end.events, [], "Sync from the last cursor on a new connection returns no events");
    assert.equal(end.nextCursor, cursor, "an empty page returns the request cursor as next_cursor");
  },
};

const streamWokenAcrossConnections: ServerCase = {
  id: "server.multi-node.stream-woken",
  title: "an open Subscribe receives, within 3 s, each message sent on a new connection",
  profile: "multi-node",
  guarantees: ["G6 real-time with fallback", "G11 nobody misses a message"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    const head = await bob.syncAll();
    const stream = recordStream(bob, head.cursor);
    try {
      await stream.waitFor("the first frame", (frames) => frames.length > 0, WAKE_BOUND_MS);
      for (let index = 0; index < MESSAGES; index++) {
        const text = `wake ${index}`;
        await onNewConnection(context, alice).sendMessage(
          { conversationId, clientMessageId: uuidv7(), text, deviceId: alice.deviceId },
          { signal: context.signal },
        );
        const committedAt = performance.now();
        await stream.waitFor(`message ${JSON.stringify(text)}`, () => messagesIn(stream.events(), conversationId).length > index, WAKE_BOUND_MS);
        context.step(`${text} arrived ${Math.round(performance.now() - committedAt)} ms after its commit`);
      }
      const texts = messagesIn(stream.events(), conversationId).map((message) => message.text);
      assert.deepEqual(texts, Array.from({ length: MESSAGES }, (_, index) => `wake ${index}`), "the stream carries each message once, in send order");
      assertConsecutive("the stream's events", positionsOf(stream.events()), Number(head.events.at(-1)?.position ?? 0n) + 1);
    } finally {
      stream.close();
      await stream.ended;
    }
  },
};

const longPollWokenAcrossConnections: ServerCase = {
  id: "server.multi-node.long-poll-woken",
  title: "a long-poll Sync on one new connection returns within 3 s of a send made on another",
  profile: "multi-node",
  guarantees: ["G6 real-time with fallback"],
  protocols: WIRE_PROTOCOLS,
  extraTimeoutMs: (limits) => Math.min(limits.maxLongPollMs, LONG_POLL_WAIT_MS),
  async run(context) {
    const waitMs = Math.min(context.limits.maxLongPollMs, LONG_POLL_WAIT_MS);
    if (waitMs < 2 * WAKE_BOUND_MS) {
      context.skip(`max_long_poll_ms is ${context.limits.maxLongPollMs}; an early return cannot be told from a timeout below ${2 * WAKE_BOUND_MS} ms`);
    }
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    let { cursor } = await bob.syncAll();

    // Three rounds, so that behind a three-node round robin the poll and the
    // send meet on every pair of nodes at least once.
    for (let round = 0; round < 3; round++) {
      const text = `poll ${round}`;
      const polling = onNewConnection(context, bob).sync({ cursor, deviceId: bob.deviceId, waitMs }, { signal: context.signal });
      await delay(300);
      await onNewConnection(context, alice).sendMessage(
        { conversationId, clientMessageId: uuidv7(), text, deviceId: alice.deviceId },
        { signal: context.signal },
      );
      const committedAt = performance.now();
      const page = await polling;
      const afterCommitMs = performance.now() - committedAt;

      assert.deepEqual(messagesIn(page.events, conversationId).map((message) => message.text), [text], `round ${round}: the long-poll returns the message`);
      assert.ok(afterCommitMs < WAKE_BOUND_MS, `round ${round}: the long-poll returned ${Math.round(afterCommitMs)} ms after the commit; expected under ${WAKE_BOUND_MS} ms`);
      cursor = page.nextCursor;
    }
  },
};

export const multiNodeCases: readonly ServerCase[] = [cursorAcrossConnections, streamWokenAcrossConnections, longPollWokenAcrossConnections];
