/**
 * A sends three messages while offline and its process is killed right
 * after the second `send()` resolved. After a restart on the same storage
 * the outbox resumes: B receives the first two (and the third only when it
 * reached the outbox before the kill), in send order, each once.
 */
import assert from "node:assert/strict";

import { assertExactlyOnceInOrder } from "./checks.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;

export const killAfterSend: Scenario = {
  id: "S1",
  title: "messages queued offline survive SIGKILL and arrive once, in order",
  profile: "offline",
  guarantees: ["G1 durable local accept", "G2 exactly-once effect", "G4 one order for everyone"],
  timeoutMs: 45_000,

  async run(context) {
    const bob = await context.runtime.createClient(context.clientOptions("bob"));
    const aliceOptions = context.clientOptions("alice");
    let alice = await context.runtime.startHost(aliceOptions);
    try {
      context.step("alice creates the direct conversation and goes offline");
      const conversationId = await alice.createDirect("bob");
      await alice.waitFor({ kind: "conversation", conversationId }, WAIT_MS);
      await bob.waitFor({ kind: "conversation", conversationId }, WAIT_MS);
      await alice.setNetworkAvailable(false);
      await alice.waitFor({ kind: "connection", state: "offline" }, WAIT_MS);

      const texts = ["first, queued offline", "second, queued offline", "third, racing the kill"];
      context.step("alice sends two messages and waits for both send() calls");
      await alice.send(conversationId, texts[0]!);
      await alice.send(conversationId, texts[1]!);

      const beforeKill = await alice.snapshot();
      assert.equal(
        beforeKill.outbox.filter((entry) => entry.state === "queued").length,
        2,
        "both resolved sends must sit in the outbox while offline",
      );

      context.step("alice sends a third message and is killed with SIGKILL at once");
      let thirdResolved = false;
      const third = alice.send(conversationId, texts[2]!).then(
        () => (thirdResolved = true),
        () => false,
      );
      const exit = await alice.kill();
      await third;
      assert.equal(exit.signal, "SIGKILL", "the client host must end by SIGKILL");

      context.step(`alice restarts on the same storage (third send resolved: ${thirdResolved})`);
      alice = await context.runtime.startHost(aliceOptions);
      await alice.waitFor({ kind: "outbox-drained" }, WAIT_MS);

      // The server's history says how many messages alice's outbox held;
      // bob must end with exactly those.
      const server = await context.user("bob").history(conversationId);
      const final = await bob.waitFor({ kind: "stored", conversationId, count: server.length }, WAIT_MS);

      const received = final.stored[conversationId] ?? [];
      // A send() that had not resolved may still have committed its outbox
      // entry before the kill: then the message is durable and is delivered.
      // A resolved send() must be delivered.
      const expectedCount = thirdResolved ? 3 : received.length;
      assert.ok(
        expectedCount === 2 || expectedCount === 3,
        `bob must receive 2 or 3 messages; received ${received.length}`,
      );
      assertExactlyOnceInOrder(received, texts.slice(0, expectedCount), "bob's stored messages");
      assert.deepEqual(
        server.map((message) => message.text),
        texts.slice(0, expectedCount),
        "the server must hold each message once, in send order",
      );

      const aliceView = (await alice.snapshot()).views[conversationId] ?? [];
      const aliceTexts = aliceView.filter((item) => item.senderId === "alice").map((item) => item.text);
      assert.deepEqual(aliceTexts, texts.slice(0, expectedCount), "alice's view must show each message once");
    } finally {
      await alice.close().catch(() => alice.kill());
      await bob.close();
    }
  },
};
