/**
 * Alice reads a conversation while her phone is offline, and the app is
 * killed before the network comes back. The read mark is already stored on
 * the phone (its unread count is 0). After the restart the client must still
 * deliver it, as it would a message queued offline, so that the server, bob
 * and alice's laptop all learn that she read the messages.
 */
import assert from "node:assert/strict";

import { pollUntil } from "./checks.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;
/** How long the restarted client may take to send the mark; its receipt debounce is 50 ms. */
const MARK_WAIT_MS = 5_000;

export const readMarkSurvivesRestart: Scenario = {
  id: "S34",
  title: "a read mark made offline reaches the server after an app restart",
  profile: "offline",
  guarantees: ["G8 receipts and multi-device", "G1 durable local accept"],
  timeoutMs: 45_000,

  async run(context) {
    const fast = { tuning: { receiptDebounceMs: 50 } };
    const phoneOptions = context.clientOptions("alice", "phone", fast);
    let phone = await context.runtime.startHost(phoneOptions);
    const laptop = await context.runtime.createClient(context.clientOptions("alice", "laptop", fast));
    const bob = await context.runtime.createClient(context.clientOptions("bob", "main", fast));
    try {
      const conversationId = await bob.createDirect("alice");
      const sent: string[] = [];
      for (const text of ["lunch?", "the usual place", "12:30"]) sent.push((await bob.send(conversationId, text)).clientMessageId);
      await phone.waitFor({ kind: "unread", conversationId, count: 3 }, WAIT_MS);
      await laptop.waitFor({ kind: "unread", conversationId, count: 3 }, WAIT_MS);

      context.step("alice reads on her phone while it is offline, and the app is killed");
      await phone.setNetworkAvailable(false);
      await phone.waitFor({ kind: "connection", state: "offline" }, WAIT_MS);
      await phone.markRead(conversationId);
      await phone.waitFor({ kind: "unread", conversationId, count: 0 }, WAIT_MS);
      await phone.kill();

      context.step("the app starts again online");
      phone = await context.runtime.startHost(phoneOptions);
      await phone.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
      const restarted = await phone.waitFor({ kind: "unread", conversationId, count: 0 }, WAIT_MS);
      assert.equal(
        restarted.conversations.find((c) => c.conversationId === conversationId)?.marks.alice?.readSeq,
        3,
        "the phone must keep the read mark it stored before the kill",
      );

      const serverReadSeq = async () => {
        const response = await context.user("bob").conversations.getConversation({ conversationId });
        return Number(response.conversation?.members.find((member) => member.userId === "alice")?.readSeq ?? 0);
      };
      const readOnServer = await pollUntil(serverReadSeq, (readSeq) => readSeq === 3, MARK_WAIT_MS, "the mark").catch(
        () => serverReadSeq(),
      );
      assert.equal(
        readOnServer,
        3,
        `${MARK_WAIT_MS} ms after the restart the server stores alice's read mark at ${readOnServer}, not 3: ` +
          "the mark made offline before the kill was lost",
      );
      await laptop.waitFor({ kind: "unread", conversationId, count: 0 }, WAIT_MS);
      await bob.waitFor({ kind: "status", conversationId, clientMessageId: sent.at(-1)!, status: "read" }, WAIT_MS);
    } finally {
      await phone.close().catch(() => phone.kill());
      await laptop.close();
      await bob.close();
    }
  },
};
