/**
 * Alice sends a burst of messages and the server crashes (SIGKILL) in the
 * middle of it, then comes back on the same data. Some sends were
 * committed without a response, some never arrived. Alice's outbox resends
 * what it has not seen confirmed, with the same client_message_ids, so the
 * server ends with each message once, in alice's send order, and bob
 * stores exactly that.
 *
 * A rate limit of 20 sends per second stretches the burst over a few
 * seconds, so the crash lands in it.
 */
import assert from "node:assert/strict";

import { assertExactlyOnceInOrder, assertMatchesServer, assertNoRepeats, pause, pollUntil } from "./checks.js";
import { QUICK_RECONNECT, requireServerControl, startAliceAndBob } from "./setup.js";
import type { Scenario } from "./types.js";

const MESSAGES = 80;
const DOWNTIME_MS = 500;
const WAIT_MS = 30_000;

export const serverCrashMidSend: Scenario = {
  id: "S25",
  title: "a server crash in the middle of a burst of sends loses and repeats nothing",
  profile: "core",
  guarantees: ["G2 exactly-once effect", "G3 server ack", "G4 one order for everyone"],
  serverArgs: ["--rate-limit", "20"],
  restartsServer: true,
  timeoutMs: 90_000,

  async run(context) {
    const server = requireServerControl(context);
    const { alice, bob } = await startAliceAndBob(context, QUICK_RECONNECT);
    try {
      const conversationId = await alice.createDirect("bob");
      await bob.waitFor({ kind: "conversation", conversationId }, WAIT_MS);

      context.step(`alice queues ${MESSAGES} messages at once`);
      const texts = Array.from({ length: MESSAGES }, (_, i) => `burst ${i + 1}`);
      for (const text of texts) await alice.send(conversationId, text);

      const atCrash = await pollUntil(
        async () => (await alice.snapshot()).outbox.length,
        (left) => left <= MESSAGES / 2,
        WAIT_MS,
        "half of the burst to be sent",
      );
      await server.kill("SIGKILL");
      assert.ok(atCrash > 0, "the crash must land while messages are still queued");

      context.step(`the server crashed with ${atCrash} messages still queued; it is back after ${DOWNTIME_MS} ms`);
      await pause(DOWNTIME_MS);
      await server.restart();
      await alice.waitFor({ kind: "outbox-drained" }, WAIT_MS);
      const history = await context.user("bob").history(conversationId);
      assert.deepEqual(
        history.map((message) => message.text),
        texts,
        "the server must store each message once, in send order",
      );

      const bobState = await bob.waitFor({ kind: "stored", conversationId, count: MESSAGES }, WAIT_MS);
      assertExactlyOnceInOrder(bobState.stored[conversationId] ?? [], texts, "bob's stored messages");
      const aliceState = await alice.waitFor({ kind: "stored", conversationId, count: MESSAGES }, WAIT_MS);
      assertMatchesServer(aliceState.stored[conversationId] ?? [], history, "alice's stored messages");
      assertNoRepeats(aliceState.views[conversationId] ?? [], "alice's view");
    } finally {
      await alice.close();
      await bob.close();
    }
  },
};
