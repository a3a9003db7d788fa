/**
 * Alice's messages show every status at once: two read by bob, one only
 * delivered, one rejected for good (to a group she was removed from) and
 * one still pending because she is offline. The app is killed and starts
 * again, still offline: every message shows the same status as before,
 * from storage alone. Back online, the pending one is sent and the failed
 * one stays failed.
 */
import assert from "node:assert/strict";

import type { ClientSnapshot } from "../runtimes/types.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;

export const restartKeepsStatuses: Scenario = {
  id: "S31",
  title: "an app restart while offline shows every message with its status as before",
  profile: "offline",
  guarantees: ["G1 durable local accept", "G8 receipts and multi-device"],
  timeoutMs: 60_000,

  async run(context) {
    const carol = context.user("carol");
    const fast = { tuning: { receiptDebounceMs: 50 } };
    const aliceOptions = context.clientOptions("alice", "main", fast);
    let alice = await context.runtime.startHost(aliceOptions);
    const bob = await context.runtime.createClient(context.clientOptions("bob", "main", fast));
    try {
      const directId = await alice.createDirect("bob");
      const groupId = await carol.createGroup("offsite", ["alice"]);
      await alice.waitFor({ kind: "conversation", conversationId: groupId }, WAIT_MS);

      context.step("bob reads two of alice's three messages");
      const ids: Record<string, string> = {};
      for (const text of ["read 1", "read 2", "delivered"]) ids[text] = (await alice.send(directId, text)).clientMessageId;
      await bob.waitFor({ kind: "stored", conversationId: directId, count: 3 }, WAIT_MS);
      await bob.markRead(directId, 2);
      await alice.waitFor({ kind: "status", conversationId: directId, clientMessageId: ids["read 2"]!, status: "read" }, WAIT_MS);
      await alice.waitFor({ kind: "status", conversationId: directId, clientMessageId: ids.delivered!, status: "delivered" }, WAIT_MS);

      context.step("a message to a group alice was removed from fails; one more waits offline");
      await alice.setNetworkAvailable(false);
      await carol.conversations.removeMembers({ conversationId: groupId, userIds: ["alice"] });
      ids.failed = (await alice.send(groupId, "to the group after removal")).clientMessageId;
      await alice.setNetworkAvailable(true);
      await alice.waitFor({ kind: "status", conversationId: groupId, clientMessageId: ids.failed, status: "failed" }, WAIT_MS);
      await alice.setNetworkAvailable(false);
      ids.pending = (await alice.send(directId, "pending")).clientMessageId;
      await alice.waitFor({ kind: "status", conversationId: directId, clientMessageId: ids.pending, status: "pending" }, WAIT_MS);

      const expected = {
        "read 1": "read",
        "read 2": "read",
        delivered: "delivered",
        failed: "failed",
        pending: "pending",
      } as const;
      assert.deepEqual(statuses(await alice.snapshot(), ids), expected, "the statuses before the restart");

      context.step("alice's app is killed and starts again offline");
      await alice.kill();
      alice = await context.runtime.startHost({ ...aliceOptions, startOffline: true });
      // Views load from storage after the start; wait until both conversations show their newest entry.
      await alice.waitFor({ kind: "status", conversationId: groupId, clientMessageId: ids.failed, status: "failed" }, WAIT_MS);
      const restarted = await alice.waitFor(
        { kind: "status", conversationId: directId, clientMessageId: ids.pending, status: "pending" },
        WAIT_MS,
      );
      assert.deepEqual(statuses(restarted, ids), expected, "every message must show the same status after the restart");
      assert.equal(restarted.connection, "offline", "the restarted client must stay offline");

      context.step("back online the pending message is sent; the failed one stays failed");
      await alice.setNetworkAvailable(true);
      await alice.waitFor({ kind: "status", conversationId: directId, clientMessageId: ids.pending, status: "sent" }, WAIT_MS);
      await bob.waitFor({ kind: "stored", conversationId: directId, count: 4 }, WAIT_MS);
      const final = await alice.snapshot();
      assert.equal(statuses(final, ids).failed, "failed", "the rejected message must stay failed");
      const parked = final.outbox.find((entry) => entry.clientMessageId === ids.failed);
      assert.ok(
        parked?.failureCode === "not_found" || parked?.failureCode === "permission_denied",
        `the failed message must keep the server's code; got ${parked?.failureCode}`,
      );
    } finally {
      await alice.close().catch(() => alice.kill());
      await bob.close();
    }
  },
};

/** Returns the status of each named message in the client's views. */
function statuses(snapshot: ClientSnapshot, ids: Record<string, string>): Record<string, string | undefined> {
  const all = Object.values(snapshot.views).flat();
  return Object.fromEntries(
    Object.entries(ids).map(([name, id]) => [name, all.find((item) => item.clientMessageId === id)?.status]),
  );
}
