/**
 * The server commits alice's message, but its response takes longer than
 * the client's SendMessage deadline. The client gives up on the call and
 * keeps the message pending; the user taps retry. The retry carries the
 * same client_message_id, so the server returns the message it committed
 * first: one message on the server, shown once, with the first commit's seq.
 *
 * Alice's stream is slowed down too, so that her own message event does
 * not confirm the message before the retry.
 */
import assert from "node:assert/strict";

import { assertNoRepeats, pollUntil } from "./checks.js";
import { requireRpcProxy, startAliceBehindProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;
const SEND_TIMEOUT_MS = 1_000;
const SEND_MESSAGE = "/chatwire.v1.ChatService/SendMessage";

export const slowSendManualRetry: Scenario = {
  id: "S12",
  title: "a send answered after the client's deadline, then retried by hand, is stored once",
  profile: "core",
  guarantees: ["G2 exactly-once effect", "G3 server ack"],
  rpcProxy: true,
  timeoutMs: 45_000,

  async run(context) {
    const proxy = requireRpcProxy(context);
    const bob = context.user("bob");
    // A long backoff keeps the SDK's own resend out of the way of the manual retry.
    const alice = await startAliceBehindProxy(context, proxy.url, {
      sendTimeoutMs: SEND_TIMEOUT_MS,
      backoffBaseMs: 8_000,
      backoffCapMs: 8_000,
    });
    try {
      const conversationId = await alice.createDirect("bob");
      await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);

      context.step(`the proxy holds the next SendMessage response for ${SEND_TIMEOUT_MS * 3} ms and the stream for 5 s`);
      proxy.delayResponses("SendMessage", SEND_TIMEOUT_MS * 3, 1);
      proxy.delayStreamMessages("Subscribe", 5_000);
      const text = "answered too late";
      const { clientMessageId } = await alice.send(conversationId, text);

      await pollUntil(
        () => proxy.stats(),
        (stats) => stats.calls[SEND_MESSAGE] === 1 && (stats.openCalls[SEND_MESSAGE] ?? 0) === 0,
        WAIT_MS,
        "alice to give up on her SendMessage call",
      );
      const committed = await bob.history(conversationId);
      assert.equal(committed.length, 1, "the server must have committed the message before the client gave up");
      const pending = (await alice.snapshot()).views[conversationId]?.find((item) => item.clientMessageId === clientMessageId);
      assert.equal(pending?.status, "pending", "a send without an answer must still show as pending");

      context.step("the user retries the pending message");
      await alice.retry(clientMessageId);
      const state = await alice.waitFor({ kind: "status", conversationId, clientMessageId, status: "sent" }, WAIT_MS);
      assert.ok((proxy.stats().calls[SEND_MESSAGE] ?? 0) >= 2, "the retry must send SendMessage again");

      const history = await bob.history(conversationId);
      assert.deepEqual(
        history.map((message) => message.clientMessageId),
        [clientMessageId],
        "the server must hold the message once",
      );
      const items = (state.views[conversationId] ?? []).filter((item) => item.clientMessageId === clientMessageId);
      assert.equal(items.length, 1, "alice's view must show the message once");
      assert.equal(items[0]!.seq, Number(history[0]!.seq), "the retry must return the seq of the first commit");
      assert.equal(state.outbox.length, 0, "the outbox must be empty after the retry");

      context.step("the late stream copy changes nothing, and the next message follows");
      proxy.reset();
      await alice.send(conversationId, "and the next one");
      const final = await alice.waitFor({ kind: "stored", conversationId, count: 2 }, WAIT_MS);
      assertNoRepeats(final.views[conversationId] ?? [], "alice's view");
      assert.deepEqual(
        (await bob.history(conversationId)).map((message) => message.text),
        [text, "and the next one"],
        "the server must hold both messages once, in order",
      );
    } finally {
      await alice.close();
    }
  },
};
