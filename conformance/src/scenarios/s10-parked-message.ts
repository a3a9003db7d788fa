/**
 * Alice queues a message to a group she was removed from while she was
 * offline, then one to bob. The server rejects the first for good; the
 * client parks it as failed, with the reason, and the next message still
 * goes out.
 */
import assert from "node:assert/strict";

import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;

export const parkedMessage: Scenario = {
  id: "S10",
  title: "a message rejected for good is parked and does not block the outbox",
  profile: "core",
  guarantees: ["G2 exactly-once effect", "G13 bad input is an error"],
  timeoutMs: 45_000,

  async run(context) {
    const carol = context.user("carol");
    const alice = await context.runtime.createClient(context.clientOptions("alice"));
    const bob = await context.runtime.createClient(context.clientOptions("bob"));
    try {
      const groupId = await carol.createGroup("planning", ["alice", "bob"]);
      const directId = await alice.createDirect("bob");
      await alice.waitFor({ kind: "conversation", conversationId: groupId }, WAIT_MS);

      context.step("alice goes offline and carol removes her from the group");
      await alice.setNetworkAvailable(false);
      await carol.conversations.removeMembers({ conversationId: groupId, userIds: ["alice"] });

      context.step("alice queues one message to the group, one to bob, and comes back");
      const toGroup = await alice.send(groupId, "am I still in here?");
      const toBob = await alice.send(directId, "this one must arrive");
      await alice.setNetworkAvailable(true);

      const parked = await alice.waitFor(
        { kind: "status", conversationId: groupId, clientMessageId: toGroup.clientMessageId, status: "failed" },
        WAIT_MS,
      );
      const entry = parked.outbox.find((item) => item.clientMessageId === toGroup.clientMessageId);
      assert.equal(entry?.state, "failed", "the rejected message must stay parked in the outbox");
      assert.ok(
        entry?.failureCode === "not_found" || entry?.failureCode === "permission_denied",
        `the parked message must carry the server's code; got ${entry?.failureCode}`,
      );

      await alice.waitFor(
        { kind: "status", conversationId: directId, clientMessageId: toBob.clientMessageId, status: "sent" },
        WAIT_MS,
      );
      const bobState = await bob.waitFor({ kind: "stored", conversationId: directId, count: 1 }, WAIT_MS);
      assert.deepEqual(
        bobState.stored[directId]?.map((message) => message.text),
        ["this one must arrive"],
        "bob must receive the message queued after the parked one",
      );
      const groupHistory = await carol.history(groupId);
      assert.ok(
        !groupHistory.some((message) => message.senderId === "alice"),
        "the group must hold nothing from alice after her removal",
      );
    } finally {
      await alice.close();
      await bob.close();
    }
  },
};
