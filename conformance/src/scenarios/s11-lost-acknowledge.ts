/**
 * Alice reads on her phone. The server commits the phone's Acknowledge (its
 * read mark and cursor), and the response is lost on the way back. The
 * phone retries, and the marks still end correct everywhere. Bob sees his
 * messages read, alice's laptop counts no unread message, the server stores
 * the read mark once, and the phone's cursor is at the end of its log.
 */
import assert from "node:assert/strict";

import { assertCursorAtEnd } from "./catch-up.js";
import { pollUntil, withTimeout } from "./checks.js";
import { requireRpcProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;
const ACKNOWLEDGE = "/chatwire.v1.ChatService/Acknowledge";

export const lostAcknowledge: Scenario = {
  id: "S11",
  title: "an Acknowledge whose response is lost after commit still leaves every mark right",
  profile: "multi-device",
  guarantees: ["G8 receipts and multi-device", "G5 differential sync by cursor"],
  rpcProxy: true,
  timeoutMs: 45_000,

  async run(context) {
    const proxy = requireRpcProxy(context);
    const tuning = { receiptDebounceMs: 50, backoffBaseMs: 100, backoffCapMs: 500 };
    const phone = await context.runtime.createClient(context.clientOptions("alice", "phone", { baseUrl: proxy.url, tuning }));
    const laptop = await context.runtime.createClient(context.clientOptions("alice", "laptop", { tuning }));
    const bob = await context.runtime.createClient(context.clientOptions("bob", "main", { tuning }));
    try {
      const conversationId = await bob.createDirect("alice");
      const sent: string[] = [];
      for (const text of ["did you see the report?", "page 4 has the numbers", "call me after"]) {
        sent.push((await bob.send(conversationId, text)).clientMessageId);
      }
      await phone.waitFor({ kind: "unread", conversationId, count: 3 }, WAIT_MS);
      await laptop.waitFor({ kind: "unread", conversationId, count: 3 }, WAIT_MS);
      const last = sent[sent.length - 1]!;
      await bob.waitFor({ kind: "status", conversationId, clientMessageId: last, status: "delivered" }, WAIT_MS);
      // The phone's delivered marks and cursor are acknowledged by now, so the next Acknowledge carries the read mark.
      await pollUntil(() => proxy.stats().openCalls[ACKNOWLEDGE] ?? 0, (open) => open === 0, WAIT_MS, "no Acknowledge in flight");

      context.step("the proxy loses the response to the phone's next Acknowledge");
      const dropped = proxy.dropResponses("Acknowledge");
      await phone.markRead(conversationId);
      const statuses = await withTimeout(dropped, WAIT_MS, "the phone sent no Acknowledge after markRead");
      assert.deepEqual(statuses, [200], "the server must have committed the Acknowledge whose response was lost");
      const callsAtDrop = proxy.stats().calls[ACKNOWLEDGE] ?? 0;

      context.step("the phone retries and the marks reach everyone");
      await pollUntil(() => proxy.stats().calls[ACKNOWLEDGE] ?? 0, (calls) => calls > callsAtDrop, WAIT_MS, "the phone to retry Acknowledge");
      await laptop.waitFor({ kind: "unread", conversationId, count: 0 }, WAIT_MS);
      const bobState = await bob.waitFor({ kind: "status", conversationId, clientMessageId: last, status: "read" }, WAIT_MS);
      for (const id of sent) {
        const item = bobState.views[conversationId]?.find((view) => view.clientMessageId === id);
        assert.equal(item?.status, "read", `bob's message ${id} must show as read`);
      }
      const server = await context.user("bob").conversations.getConversation({ conversationId });
      const aliceOnServer = server.conversation?.members.find((member) => member.userId === "alice");
      assert.equal(Number(aliceOnServer?.readSeq), 3, "the server must store alice's read mark at seq 3");

      context.step("a new message is unread on both devices, and the phone's cursor is at the end");
      await bob.send(conversationId, "one more thing");
      await phone.waitFor({ kind: "unread", conversationId, count: 1 }, WAIT_MS);
      const laptopAfter = await laptop.waitFor({ kind: "unread", conversationId, count: 1 }, WAIT_MS);
      const laptopMarks = laptopAfter.conversations.find((c) => c.conversationId === conversationId)?.marks.alice;
      assert.equal(laptopMarks?.readSeq, 3, "the laptop must keep alice's read mark at seq 3");
      await assertCursorAtEnd(context, phone, "alice");
    } finally {
      await phone.close();
      await laptop.close();
      await bob.close();
    }
  },
};
