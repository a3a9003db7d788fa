/**
 * Alice's app goes to the background: the client closes its stream and
 * makes no calls, even while messages arrive and she queues a reply. A
 * push wake-up with a deadline syncs and flushes the outbox, then the
 * client is quiet again. A wake-up while the server does not respond ends
 * at its deadline. Back in the foreground the client reconnects and
 * receives live messages.
 *
 * The RPC proxy counts alice's calls, so "no connection in the background"
 * is checked as "no call open or started", which any runtime can meet
 * whatever its HTTP stack keeps idle.
 */
import assert from "node:assert/strict";

import type { RpcProxy } from "../net/rpc-proxy.js";
import { pause, pollUntil } from "./checks.js";
import { QUICK_RECONNECT, openDirectUntilConnected, requireRpcProxy, startAliceBehindProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;
const WAKE_DEADLINE_MS = 5_000;
const SHORT_DEADLINE_MS = 1_000;
/** Time a wake-up call may take beyond its deadline: the host round trip and timers on a loaded machine. */
const DEADLINE_SLACK_MS = 1_500;

export const backgroundWake: Scenario = {
  id: "S27",
  title: "in the background the client makes no calls; a wake-up syncs within its deadline",
  profile: "core",
  guarantees: ["G10 lifecycle aware", "G9 explicit connection state"],
  rpcProxy: true,
  timeoutMs: 60_000,

  async run(context) {
    const proxy = requireRpcProxy(context);
    const bob = context.user("bob");
    const alice = await startAliceBehindProxy(context, proxy.url, QUICK_RECONNECT);
    try {
      const conversationId = await openDirectUntilConnected(bob, alice, WAIT_MS);

      context.step("alice's app goes to the background");
      await alice.background();
      await alice.waitFor({ kind: "connection", state: "suspended" }, WAIT_MS);
      await assertQuiet(proxy, "after background()");

      context.step("bob writes and alice queues a reply; nothing moves");
      const texts = ["are you around?", "no rush", "tomorrow works too"];
      for (const text of texts) await bob.send(conversationId, text);
      const reply = await alice.send(conversationId, "replied from the lock screen");
      await assertQuiet(proxy, "while suspended with a queued reply");
      const suspended = await alice.snapshot();
      assert.equal(suspended.stored[conversationId]?.length ?? 0, 0, "a suspended client must not sync");

      context.step(`a push wake-up with a ${WAKE_DEADLINE_MS} ms deadline`);
      await alice.wake(WAKE_DEADLINE_MS);
      const woken = await alice.snapshot();
      assert.deepEqual(
        (woken.stored[conversationId] ?? []).filter((message) => message.senderId === "bob").map((message) => message.text),
        texts,
        "the wake-up must store bob's messages",
      );
      assert.equal(woken.outbox.length, 0, "the wake-up must flush the queued reply");
      assert.equal(woken.connection, "suspended", "the client must stay suspended after a wake-up");
      assert.equal(
        (await bob.history(conversationId)).filter((message) => message.clientMessageId === reply.clientMessageId).length,
        1,
        "the reply must reach the server once",
      );
      await assertQuiet(proxy, "after the wake-up");

      context.step(`a wake-up while the server's answers are held ends at its ${SHORT_DEADLINE_MS} ms deadline`);
      proxy.blockResponses("Sync");
      await bob.send(conversationId, "sent during the stuck wake-up");
      const started = Date.now();
      await alice.wake(SHORT_DEADLINE_MS);
      const tookMs = Date.now() - started;
      assert.ok(
        tookMs <= SHORT_DEADLINE_MS + DEADLINE_SLACK_MS,
        `wake() returned after ${tookMs} ms; the deadline is ${SHORT_DEADLINE_MS} ms plus ${DEADLINE_SLACK_MS} ms slack`,
      );
      assert.equal((await alice.snapshot()).connection, "suspended", "a wake-up past its deadline must leave the client suspended");
      await assertQuiet(proxy, "after a wake-up that hit its deadline");
      proxy.reset();

      context.step("back in the foreground, alice reconnects and gets everything live");
      await alice.foreground();
      await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
      await bob.send(conversationId, "welcome back");
      const state = await alice.waitFor({ kind: "stored", conversationId, count: texts.length + 3 }, WAIT_MS);
      assert.deepEqual(
        state.stored[conversationId]?.slice(-2).map((message) => message.text),
        ["sent during the stuck wake-up", "welcome back"],
        "alice must receive what arrived during the stuck wake-up and after",
      );
    } finally {
      await alice.close();
    }
  },
};

/** Asserts that the client ends its open calls and then starts none for a while. */
async function assertQuiet(proxy: RpcProxy, when: string): Promise<void> {
  await pollUntil(() => proxy.stats().openCalls, (open) => Object.keys(open).length === 0, WAIT_MS, `no open call ${when}`);
  const before = proxy.stats().calls;
  await pause(1_000);
  assert.deepEqual(proxy.stats().calls, before, `the client must start no call ${when}`);
}
