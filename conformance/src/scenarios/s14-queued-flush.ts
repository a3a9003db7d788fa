/**
 * Alice queues 300 messages across four conversations while offline, in
 * turns, as a user catching up on replies would. When the network is back
 * the outbox flushes them: the server stores each message once, each
 * conversation in alice's send order, and bob receives exactly that.
 *
 * The server keeps its default rate limit, so the flush may meet
 * rate_limited errors and must then wait as long as the server requests.
 */
import assert from "node:assert/strict";

import { assertExactlyOnceInOrder, assertMatchesServer, assertNoRepeats } from "./checks.js";
import type { Scenario } from "./types.js";

const MESSAGES = 300;
const WAIT_MS = 60_000;

export const queuedFlush: Scenario = {
  id: "S14",
  title: "hundreds of messages queued offline in several conversations flush once, in order",
  profile: "offline",
  guarantees: ["G1 durable local accept", "G2 exactly-once effect", "G4 one order for everyone"],
  timeoutMs: 120_000,

  async run(context) {
    const carol = context.user("carol");
    const checker = context.user("bob");
    const alice = await context.runtime.createClient(context.clientOptions("alice", "main", { tuning: { backoffCapMs: 2_000 } }));
    const bob = await context.runtime.createClient(context.clientOptions("bob"));
    try {
      const conversationIds = [
        await alice.createDirect("bob"),
        await carol.createGroup("design", ["alice", "bob"]),
        await carol.createGroup("release", ["alice", "bob"]),
        await carol.createGroup("support", ["alice", "bob"]),
      ];
      for (const conversationId of conversationIds) {
        await alice.waitFor({ kind: "conversation", conversationId }, WAIT_MS);
      }

      context.step(`alice goes offline and queues ${MESSAGES} messages in ${conversationIds.length} conversations`);
      await alice.setNetworkAvailable(false);
      await alice.waitFor({ kind: "connection", state: "offline" }, WAIT_MS);
      const expected = new Map<string, string[]>(conversationIds.map((id) => [id, []]));
      for (let i = 0; i < MESSAGES; i++) {
        const conversationId = conversationIds[i % conversationIds.length]!;
        const text = `queued reply ${i + 1}`;
        await alice.send(conversationId, text);
        expected.get(conversationId)!.push(text);
      }
      const queued = await alice.snapshot();
      assert.equal(queued.outbox.length, MESSAGES, `all ${MESSAGES} messages must wait in the outbox`);

      context.step("the network comes back and the outbox flushes");
      await alice.setNetworkAvailable(true);
      await alice.waitFor({ kind: "outbox-drained" }, WAIT_MS);
      for (const [conversationId, texts] of expected) {
        await bob.waitFor({ kind: "stored", conversationId, count: texts.length }, WAIT_MS);
      }

      const bobState = await bob.snapshot();
      const aliceState = await alice.snapshot();
      for (const [conversationId, texts] of expected) {
        const server = await checker.history(conversationId);
        assert.deepEqual(
          server.map((message) => message.text),
          texts,
          `the server must store ${conversationId}'s messages once, in send order`,
        );
        assertExactlyOnceInOrder(bobState.stored[conversationId] ?? [], texts, `bob in ${conversationId}`);
        assertMatchesServer(aliceState.stored[conversationId] ?? [], server, `alice in ${conversationId}`);
        assertNoRepeats(aliceState.views[conversationId] ?? [], `alice's view of ${conversationId}`);
      }
      assert.equal(aliceState.outbox.length, 0, "nothing may stay in alice's outbox");
    } finally {
      await alice.close();
      await bob.close();
    }
  },
};
