/**
 * Alice's own message comes back on her event stream before the response
 * to her SendMessage, which the proxy delays. The echo alone confirms the
 * message, so alice sees it once, as sent, with its seq, while the response
 * is still on its way. When the response arrives it changes nothing.
 */
import assert from "node:assert/strict";

import { assertNoRepeats, messageEventCounts, pollUntil } from "./checks.js";
import { requireRpcProxy, startAliceBehindProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;
const HOLD_MS = 2_000;
const SEND_MESSAGE = "/chatwire.v1.ChatService/SendMessage";

export const echoBeforeResponse: Scenario = {
  id: "S13",
  title: "a message echoed on the stream before its send response is shown once, as sent",
  profile: "core",
  guarantees: ["G2 exactly-once effect", "G3 server ack", "G4 one order for everyone"],
  rpcProxy: true,
  timeoutMs: 45_000,

  async run(context) {
    const proxy = requireRpcProxy(context);
    const alice = await startAliceBehindProxy(context, proxy.url);
    const bob = await context.runtime.createClient(context.clientOptions("bob"));
    try {
      const conversationId = await alice.createDirect("bob");
      await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);

      context.step(`the proxy holds the SendMessage response for ${HOLD_MS} ms`);
      proxy.delayResponses("SendMessage", HOLD_MS, 1);
      const text = "the echo wins the race";
      const { clientMessageId } = await alice.send(conversationId, text);
      const confirmed = await alice.waitFor({ kind: "status", conversationId, clientMessageId, status: "sent" }, WAIT_MS);
      assert.equal(
        proxy.stats().openCalls[SEND_MESSAGE],
        1,
        "the SendMessage response must still be held when the echo confirms the message",
      );
      const early = (confirmed.views[conversationId] ?? []).filter((item) => item.clientMessageId === clientMessageId);
      assert.equal(early.length, 1, "the echoed message must be shown once");
      assert.equal(early[0]!.seq, 1, "the echo must carry the message's seq");
      assert.equal(confirmed.outbox.length, 0, "the echo must take the message out of the outbox");

      context.step("the held response arrives and changes nothing");
      await pollUntil(() => proxy.stats().openCalls[SEND_MESSAGE] ?? 0, (open) => open === 0, WAIT_MS, "the held response");
      await bob.waitFor({ kind: "stored", conversationId, count: 1 }, WAIT_MS);
      const state = await alice.waitFor({ kind: "status", conversationId, clientMessageId, status: "delivered" }, WAIT_MS);
      const items = (state.views[conversationId] ?? []).filter((item) => item.clientMessageId === clientMessageId);
      assert.equal(items.length, 1, "the message must still be shown once after the response");
      assert.equal(items[0]!.seq, 1, "the response must not change the seq");
      assert.equal(messageEventCounts(await alice.events()).get(clientMessageId), 1, "alice's client must announce the message once");

      await alice.send(conversationId, "next");
      const final = await bob.waitFor({ kind: "stored", conversationId, count: 2 }, WAIT_MS);
      assert.deepEqual(
        final.stored[conversationId]?.map((message) => [message.seq, message.text]),
        [
          [1, text],
          [2, "next"],
        ],
        "bob must store each message once, in order",
      );
      assertNoRepeats((await alice.snapshot()).views[conversationId] ?? [], "alice's view");
    } finally {
      await alice.close();
      await bob.close();
    }
  },
};
