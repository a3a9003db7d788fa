/**
 * Alice's network flaps: the OS reports it gone and back every few hundred
 * milliseconds, and in between the proxy cuts her connections. Both alice
 * and bob keep writing. When the network settles, each side stores every
 * message once, in the server's order, alice's own in her send order, and
 * alice ends connected.
 */
import assert from "node:assert/strict";

import { assertMatchesServer, assertNoRepeats, pause } from "./checks.js";
import { requireFaultProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const ROUNDS = 16;
const ROUND_MS = 250;
const WAIT_MS = 30_000;

export const networkFlapping: Scenario = {
  id: "S28",
  title: "a flapping network loses, repeats and reorders nothing",
  profile: "core",
  guarantees: ["G1 durable local accept", "G2 exactly-once effect", "G4 one order for everyone", "G9 explicit connection state"],
  proxy: true,
  timeoutMs: 60_000,

  async run(context) {
    const proxy = requireFaultProxy(context);
    const tuning = { backoffBaseMs: 100, backoffCapMs: 1_000 };
    const alice = await context.runtime.createClient(context.clientOptions("alice", "main", { baseUrl: proxy.url, tuning }));
    const bob = await context.runtime.createClient(context.clientOptions("bob", "main", { tuning }));
    try {
      const conversationId = await bob.createDirect("alice");
      await alice.waitFor({ kind: "conversation", conversationId }, WAIT_MS);

      context.step(`for ${ROUNDS} rounds of ${ROUND_MS} ms alice's network goes down, comes back and is cut`);
      const aliceTexts: string[] = [];
      const bobTexts: string[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        await alice.setNetworkAvailable(round % 2 === 0);
        if (round % 3 === 0) proxy.cutAll();
        const fromAlice = `alice ${round}`;
        const fromBob = `bob ${round}`;
        await alice.send(conversationId, fromAlice);
        await bob.send(conversationId, fromBob);
        aliceTexts.push(fromAlice);
        bobTexts.push(fromBob);
        await pause(ROUND_MS);
      }
      const changes = (await alice.events()).filter((event) => event.type === "connection" && event.next === "offline");
      assert.ok(changes.length >= ROUNDS / 2 - 1, `alice must report going offline in each down round; she did ${changes.length} times`);

      context.step("the network settles");
      await alice.setNetworkAvailable(true);
      const total = aliceTexts.length + bobTexts.length;
      await alice.waitFor({ kind: "outbox-drained" }, WAIT_MS);
      await bob.waitFor({ kind: "outbox-drained" }, WAIT_MS);
      const aliceState = await alice.waitFor({ kind: "stored", conversationId, count: total }, WAIT_MS);
      const bobState = await bob.waitFor({ kind: "stored", conversationId, count: total }, WAIT_MS);

      const server = await context.user("bob").history(conversationId);
      assert.equal(server.length, total, `the server must hold ${total} messages, each once`);
      for (const [sender, texts] of [
        ["alice", aliceTexts],
        ["bob", bobTexts],
      ] as const) {
        assert.deepEqual(
          server.filter((message) => message.senderId === sender).map((message) => message.text),
          texts,
          `the server must hold ${sender}'s messages in send order`,
        );
      }
      assertMatchesServer(aliceState.stored[conversationId] ?? [], server, "alice");
      assertMatchesServer(bobState.stored[conversationId] ?? [], server, "bob");
      assertNoRepeats(aliceState.views[conversationId] ?? [], "alice's view");
      await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
    } finally {
      proxy.reset();
      await alice.close();
      await bob.close();
    }
  },
};
