/**
 * Alice's event stream goes silent after it has delivered messages, while
 * its connection stays healthy. The proxy stops relaying that one stream
 * and the connection goes on carrying other calls, as when a server or
 * proxy wedges a single stream. Unlike a dead network (S4), nothing at the
 * TCP or HTTP/2 level fails, so only the heartbeat check can notice. The
 * client must leave "connected" within about 2.5 heartbeat intervals,
 * open a new stream and miss nothing.
 */
import assert from "node:assert/strict";

import { assertExactlyOnceInOrder, pause, waitForEvent } from "./checks.js";
import { QUICK_RECONNECT, openDirectWithMessage, requireRpcProxy, startAliceBehindProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const HEARTBEAT_MS = 300;
const LIVENESS_FACTOR = 2.5;
/** Scheduling slack on a loaded 2-core machine, as in S4. */
const SLACK_MS = 1_000;
const WAIT_MS = 20_000;
const SUBSCRIBE = "/chatwire.v1.ChatService/Subscribe";

export const silentStreamLiveConnection: Scenario = {
  id: "S19",
  title: "a stream that goes silent on a healthy connection is detected and replaced",
  profile: "core",
  guarantees: ["G6 real-time with fallback", "G9 explicit connection state"],
  serverArgs: ["--heartbeat-ms", String(HEARTBEAT_MS)],
  rpcProxy: true,
  timeoutMs: 60_000,

  async run(context) {
    const proxy = requireRpcProxy(context);
    const bob = context.user("bob");
    const alice = await startAliceBehindProxy(context, proxy.url, QUICK_RECONNECT);
    try {
      const conversationId = await openDirectWithMessage(bob, alice, "before the silence", WAIT_MS);
      await pause(HEARTBEAT_MS * 3);

      context.step("the proxy stops relaying alice's open stream");
      const silencedAt = Date.now();
      assert.equal(proxy.silenceOpenCalls("Subscribe"), 1, "alice must have one open stream to silence");
      const { clientMessageId } = await alice.send(conversationId, "sent while the stream is silent");
      await alice.waitFor({ kind: "status", conversationId, clientMessageId, status: "sent" }, WAIT_MS);
      const texts = ["during the silence 1", "during the silence 2"];
      for (const text of texts) await bob.send(conversationId, text);

      const bound = HEARTBEAT_MS * LIVENESS_FACTOR + SLACK_MS;
      const left = await waitForEvent(
        alice,
        (event) => event.type === "connection" && event.at >= silencedAt && event.prev === "connected",
        WAIT_MS,
        'alice leaving the "connected" state after the silence',
      );
      assert.ok(
        left.at - silencedAt <= bound,
        `alice left "connected" ${left.at - silencedAt} ms after the silence; the liveness bound is ${bound} ms`,
      );

      context.step("alice opens a new stream and receives what she missed");
      await alice.waitFor({ kind: "stored", conversationId, count: 4 }, WAIT_MS);
      const state = await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
      assert.ok((proxy.stats().calls[SUBSCRIBE] ?? 0) >= 2, "alice must open a new stream");
      const fromBob = (state.stored[conversationId] ?? []).filter((message) => message.senderId === "bob");
      assertExactlyOnceInOrder(fromBob, ["before the silence", ...texts], "bob's messages as alice stores them");
      assert.equal(state.stored[conversationId]?.length, 4, "alice must store her own message once too");
    } finally {
      await alice.close();
    }
  },
};
