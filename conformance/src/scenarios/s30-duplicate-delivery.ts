/**
 * The same events reach alice twice. Her stream is slow (the proxy delays
 * each frame by two seconds), so a syncNow() fetches bob's messages by
 * Sync first, and the stream then delivers them again. Alice must store
 * and show each message once and announce it once.
 */
import assert from "node:assert/strict";

import { assertExactlyOnceInOrder, assertNoRepeats, messageEventCounts, pause } from "./checks.js";
import { openDirectUntilConnected, requireRpcProxy, startAliceBehindProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const STREAM_DELAY_MS = 2_000;
const WAIT_MS = 15_000;

export const duplicateDelivery: Scenario = {
  id: "S30",
  title: "events delivered by both sync and stream are shown once",
  profile: "core",
  guarantees: ["G5 differential sync by cursor", "G6 real-time with fallback", "G2 exactly-once effect"],
  rpcProxy: true,
  timeoutMs: 45_000,

  async run(context) {
    const proxy = requireRpcProxy(context);
    const bob = context.user("bob");
    const alice = await startAliceBehindProxy(context, proxy.url);
    try {
      const conversationId = await openDirectUntilConnected(bob, alice, WAIT_MS);

      context.step(`the stream lags ${STREAM_DELAY_MS} ms; syncNow() fetches bob's messages first`);
      proxy.delayStreamMessages("Subscribe", STREAM_DELAY_MS);
      const texts = ["one", "two", "three", "four", "five"];
      for (const text of texts) await bob.send(conversationId, text);
      await alice.syncNow();
      const synced = await alice.snapshot();
      assertExactlyOnceInOrder(synced.stored[conversationId] ?? [], texts, "alice's messages after syncNow()");

      context.step("the stream delivers the same events again");
      await pause(STREAM_DELAY_MS + 1_000);
      proxy.reset();
      await bob.send(conversationId, "six");
      const state = await alice.waitFor({ kind: "stored", conversationId, count: texts.length + 1 }, WAIT_MS);
      assertExactlyOnceInOrder(state.stored[conversationId] ?? [], [...texts, "six"], "alice's stored messages");
      assertNoRepeats(state.views[conversationId] ?? [], "alice's view");
      const counts = messageEventCounts(await alice.events());
      for (const message of state.stored[conversationId] ?? []) {
        assert.equal(counts.get(message.clientMessageId), 1, `alice's client must announce "${message.text}" once`);
      }
    } finally {
      await alice.close();
    }
  },
};
