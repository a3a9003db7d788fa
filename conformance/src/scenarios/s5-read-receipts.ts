/**
 * Alice reads a conversation on her phone: the unread count on her laptop
 * drops to zero and bob sees his messages as read. A later, lower read mark
 * from the laptop changes nothing, because marks only rise.
 */
import assert from "node:assert/strict";

import { QUICK_RECEIPTS, startAliceDevicesAndBob } from "./setup.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;

export const readReceipts: Scenario = {
  id: "S5",
  title: "a read on one device clears unread on the other and reaches the sender",
  profile: "multi-device",
  guarantees: ["G8 receipts and multi-device"],
  timeoutMs: 45_000,

  async run(context) {
    const { phone, laptop, bob } = await startAliceDevicesAndBob(context, QUICK_RECEIPTS);
    try {
      const conversationId = await bob.createDirect("alice");
      const sent: string[] = [];
      for (const text of ["are you there?", "the build is green", "shipping it"]) {
        sent.push((await bob.send(conversationId, text)).clientMessageId);
      }

      context.step("both of alice's devices count three unread messages");
      await phone.waitFor({ kind: "unread", conversationId, count: 3 }, WAIT_MS);
      await laptop.waitFor({ kind: "unread", conversationId, count: 3 }, WAIT_MS);
      const last = sent[sent.length - 1]!;
      await bob.waitFor({ kind: "status", conversationId, clientMessageId: last, status: "delivered" }, WAIT_MS);

      context.step("alice reads on her phone");
      await phone.markRead(conversationId);
      await phone.waitFor({ kind: "unread", conversationId, count: 0 }, WAIT_MS);
      await laptop.waitFor({ kind: "unread", conversationId, count: 0 }, WAIT_MS);
      const bobState = await bob.waitFor(
        { kind: "status", conversationId, clientMessageId: last, status: "read" },
        WAIT_MS,
      );
      for (const id of sent) {
        const item = bobState.views[conversationId]?.find((view) => view.clientMessageId === id);
        assert.equal(item?.status, "read", `bob's message ${id} must show as read`);
      }

      context.step("a lower read mark from the laptop lowers nothing");
      await laptop.markRead(conversationId, 1);
      await bob.send(conversationId, "one more");
      const after = await laptop.waitFor({ kind: "unread", conversationId, count: 1 }, WAIT_MS);
      assert.equal(
        after.conversations.find((c) => c.conversationId === conversationId)?.unreadCount,
        1,
        "only the new message is unread on the laptop",
      );
      const bobAfter = await bob.snapshot();
      const lastItem = bobAfter.views[conversationId]?.find((view) => view.clientMessageId === last);
      assert.equal(lastItem?.status, "read", "a lower mark must not take back bob's read status");
    } finally {
      await phone.close();
      await laptop.close();
      await bob.close();
    }
  },
};
