/**
 * The response to a committed SendMessage is lost while alice's client has
 * no other way to learn of the commit: the RPC proxy relays nothing of her
 * open stream and blocks every new Subscribe and Sync. So her client must
 * retry SendMessage, and only a retry with the same client_message_id lets
 * the server return the first commit. The server must store the message
 * once. Once the proxy lets streams through again, alice and bob each show
 * it once, with the seq of the first commit.
 *
 * S2 loses the response too, but there alice's own message event on the
 * stream often confirms the message before the retry goes out, so a client
 * that changes the key on retry passes S2 in some runs. Here the retry is
 * certain.
 *
 * The server's heartbeat is one minute, so alice's client does not notice
 * the silent stream within the scenario (that is S19's subject).
 */
import assert from "node:assert/strict";

import { assertNoRepeats, messageEventCounts, waitForEvent, withTimeout } from "./checks.js";
import { requireRpcProxy, startAliceBehindProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 20_000;
const SEND_MESSAGE = "/chatwire.v1.ChatService/SendMessage";

export const retryWithoutEcho: Scenario = {
  id: "S36",
  title: "a send retried while no stream or sync can confirm it keeps its key and is stored once",
  profile: "core",
  guarantees: ["G2 exactly-once effect"],
  serverArgs: ["--heartbeat-ms", "60000"],
  rpcProxy: true,
  timeoutMs: 60_000,

  async run(context) {
    const proxy = requireRpcProxy(context);
    const alice = await startAliceBehindProxy(context, proxy.url, { backoffBaseMs: 100, backoffCapMs: 500 });
    const bob = await context.runtime.createClient(context.clientOptions("bob"));
    try {
      context.step("alice and bob share a direct conversation");
      const conversationId = await alice.createDirect("bob");
      await bob.waitFor({ kind: "conversation", conversationId }, WAIT_MS);
      await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);

      context.step("the proxy cuts alice off from every stream and sync");
      proxy.blockResponses("Subscribe");
      proxy.blockResponses("Sync");
      assert.equal(proxy.silenceOpenCalls("Subscribe"), 1, "alice must have one open stream to silence");
      proxy.silenceOpenCalls("Sync");

      context.step("the server commits alice's message and the proxy drops the response");
      const dropped = proxy.dropResponses("SendMessage");
      const text = "committed once, retried blind";
      const { clientMessageId } = await alice.send(conversationId, text);
      const statuses = await withTimeout(dropped, WAIT_MS, "alice sent no SendMessage");
      assert.deepEqual(statuses, [200], "the server must have committed the SendMessage whose response was lost");

      context.step("alice retries; the retry's response confirms the message");
      const sent = await alice.waitFor({ kind: "status", conversationId, clientMessageId, status: "sent" }, WAIT_MS);
      assert.equal(proxy.stats().calls[SEND_MESSAGE], 2, "alice must have sent the message once and retried it once");
      const history = await context.user("bob").history(conversationId);
      const copies = history.filter((message) => message.text === text);
      assert.equal(copies.length, 1, `the server must store the message once; it has ${copies.length}`);
      assert.equal(copies[0]!.clientMessageId, clientMessageId, "the server must store the message with alice's client_message_id");
      const storedSeq = Number(copies[0]!.seq);
      const aliceItems = (sent.views[conversationId] ?? []).filter((item) => item.clientMessageId === clientMessageId);
      assert.equal(aliceItems.length, 1, "alice must show the message once");
      assert.equal(aliceItems[0]!.seq, storedSeq, "the retry must return the seq of the first commit");

      context.step("the proxy lets streams through again and cuts alice's connections");
      proxy.reset();
      const cutAt = Date.now();
      proxy.cutAll();
      await waitForEvent(
        alice,
        (event) => event.type === "connection" && event.at >= cutAt && event.next === "connected",
        WAIT_MS,
        "alice to connect again after the cut",
      );

      context.step("alice's next message follows; both show each message once");
      const next = "and the next one follows";
      await alice.send(conversationId, next);
      const expected = [
        [storedSeq, text],
        [storedSeq + 1, next],
      ];
      for (const [name, client] of [
        ["bob", bob],
        ["alice", alice],
      ] as const) {
        const state = await client.waitFor({ kind: "stored", conversationId, count: 2 }, WAIT_MS);
        assert.deepEqual(
          (state.stored[conversationId] ?? []).map((message) => [message.seq, message.text]),
          expected,
          `${name} must store the message once, followed by the next one`,
        );
        const view = state.views[conversationId] ?? [];
        assertNoRepeats(view, `${name}'s view`);
        assert.equal(view.filter((item) => item.text === text).length, 1, `${name} must show the message once`);
      }
      assert.equal(messageEventCounts(await alice.events()).get(clientMessageId), 1, "alice's client must announce the message once");
    } finally {
      await alice.close();
      await bob.close();
    }
  },
};
