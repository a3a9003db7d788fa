/**
 * The server commits a message and the connection is cut before the
 * response reaches the client. The client resends with the same
 * client_message_id, or learns of the commit from its own message event,
 * whichever comes first. Either way alice shows the message once with the
 * seq of the first commit and B stores it once. A replayed request returns
 * the stored message.
 *
 * The cut must hit the SendMessage response and not some other frame, so
 * the scenario makes alice's connection quiet first: a one-minute heartbeat
 * and no pending acknowledgement. Over HTTP/2 alice's stream shares the
 * connection, so whichever post-commit frame comes first (the response or
 * alice's own message event) ends the connection and loses the response.
 */
import assert from "node:assert/strict";

import { pause, withTimeout } from "./checks.js";
import { expectRejected } from "./protocol.js";
import { requireFaultProxy, startAliceBehindProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 20_000;

export const lostResponse: Scenario = {
  id: "S2",
  title: "a response lost after commit is retried and stored once",
  profile: "core",
  guarantees: ["G2 exactly-once effect"],
  serverArgs: ["--heartbeat-ms", "60000"],
  proxy: true,
  timeoutMs: 60_000,

  async run(context) {
    const proxy = requireFaultProxy(context);
    const bob = await context.runtime.createClient(context.clientOptions("bob"));
    const alice = await startAliceBehindProxy(context, proxy.url, {
      receiptDebounceMs: 50,
      backoffBaseMs: 100,
      backoffCapMs: 500,
    });
    try {
      context.step("alice and bob share a direct conversation");
      const conversationId = await alice.createDirect("bob");
      await bob.waitFor({ kind: "conversation", conversationId }, WAIT_MS);
      await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
      // Lets alice's acknowledgements go out before the cut is armed, so
      // the next bytes from the server are the response to SendMessage.
      await pause(500);

      context.step("the proxy drops the next response and cuts the connection");
      const cut = proxy.cutOnNextResponse();
      const text = "committed once even though the answer was lost";
      const { clientMessageId } = await alice.send(conversationId, text);
      await withTimeout(cut, WAIT_MS, "the proxy did not see a response to cut");
      assert.ok(proxy.stats().cuts >= 1, "the proxy must have cut a connection");

      context.step("alice retries and the outbox drains");
      await alice.waitFor({ kind: "status", conversationId, clientMessageId, status: "sent" }, WAIT_MS);
      await bob.waitFor({ kind: "stored", conversationId, count: 1 }, WAIT_MS);

      const history = await context.user("bob").history(conversationId);
      const copies = history.filter((message) => message.clientMessageId === clientMessageId);
      assert.equal(copies.length, 1, `the server must store the message once; it has ${copies.length}`);
      const storedSeq = Number(copies[0]!.seq);

      const aliceItems = ((await alice.snapshot()).views[conversationId] ?? []).filter(
        (item) => item.clientMessageId === clientMessageId,
      );
      assert.equal(aliceItems.length, 1, "alice's view must show the message once");
      assert.equal(aliceItems[0]!.seq, storedSeq, "the retry must return the seq of the first commit");

      // The SDK also learns of the commit from its own message event on the
      // stream, which races the retry, so the retry alone may not reach the
      // server. Replaying alice's request pins the server's side of G2.
      context.step("the same request again returns the stored message; other text with the key is rejected");
      const replay = await context.user("alice").chat.sendMessage({ conversationId, clientMessageId, text, deviceId: "replay-probe" });
      assert.equal(replay.replayed, true, "a retry with the same client_message_id must be reported as replayed");
      assert.equal(Number(replay.message?.seq), storedSeq, "a retry must return the seq of the first commit");
      const reused = await expectRejected("SendMessage reusing a key for other text", () =>
        context.user("alice").chat.sendMessage({ conversationId, clientMessageId, text: `${text}!`, deviceId: "replay-probe" }),
      );
      assert.equal(reused.codeName, "already_exists", `a reused key with other text got ${reused.codeName}`);
      const historyAfter = await context.user("bob").history(conversationId);
      assert.equal(
        historyAfter.filter((message) => message.clientMessageId === clientMessageId).length,
        1,
        "replays must not store another copy",
      );

      // A second message proves the conversation goes on with the next seq.
      await alice.send(conversationId, "and the next one follows");
      const bobState = await bob.waitFor({ kind: "stored", conversationId, count: 2 }, WAIT_MS);
      const bobMessages = bobState.stored[conversationId] ?? [];
      assert.deepEqual(
        bobMessages.map((message) => [message.seq, message.text]),
        [
          [storedSeq, text],
          [storedSeq + 1, "and the next one follows"],
        ],
        "bob must see the message once, followed by the next one",
      );
    } finally {
      await alice.close();
      await bob.close();
    }
  },
};
