/**
 * Carol removes bob from a group while his client is connected. His client
 * marks the group as one he left, and from then on receives none of its
 * messages, neither live nor by sync, and rejects new ones for it.
 * Alice, still a member, receives everything.
 */
import assert from "node:assert/strict";

import { errorCode, pause } from "./checks.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;

export const removedMember: Scenario = {
  id: "S29",
  title: "a member removed from a group stops receiving its messages",
  profile: "core",
  guarantees: ["G12 authenticated and authorized"],
  timeoutMs: 45_000,

  async run(context) {
    const carol = context.user("carol");
    const bob = await context.runtime.createClient(context.clientOptions("bob"));
    const alice = await context.runtime.createClient(context.clientOptions("alice"));
    try {
      const groupId = await carol.createGroup("planning", ["alice", "bob"]);
      for (const text of ["agenda", "minutes"]) await carol.send(groupId, text);
      await bob.waitFor({ kind: "stored", conversationId: groupId, count: 2 }, WAIT_MS);

      context.step("carol removes bob");
      await carol.conversations.removeMembers({ conversationId: groupId, userIds: ["bob"] });
      await bob.waitFor({ kind: "removed", conversationId: groupId }, WAIT_MS);

      context.step("carol writes on; bob gets none of it");
      const after = ["the surprise for bob", "budget for the surprise", "see you friday"];
      for (const text of after) await carol.send(groupId, text);
      await alice.waitFor({ kind: "stored", conversationId: groupId, count: 2 + after.length }, WAIT_MS);
      await bob.syncNow();
      // Bob's stream is live: give a message that leaked a moment to arrive.
      await pause(500);
      const bobState = await bob.snapshot();
      assert.deepEqual(
        bobState.stored[groupId]?.map((message) => message.text),
        ["agenda", "minutes"],
        "bob must keep what he received before the removal and get nothing after it",
      );
      assert.ok(!JSON.stringify(bobState).includes("surprise"), "no text written after the removal may reach bob's client");

      const { events } = await context.user("bob").syncAll();
      const leaked = events.filter(
        (event) => event.kind.case === "message" && event.kind.value.message?.conversationId === groupId && Number(event.kind.value.message.seq) > 2,
      );
      assert.equal(leaked.length, 0, "bob's event log must hold no message of the group after his removal");

      context.step("bob's client refuses to queue a message to the group");
      const rejected = await bob.send(groupId, "can I still post?").then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(rejected, "send() to a group the user was removed from must reject");
      assert.equal(errorCode(rejected), "failed_precondition", `send() must reject with failed_precondition; got ${String(rejected)}`);
      assert.equal((await bob.snapshot()).outbox.length, 0, "the rejected message must not enter the outbox");
    } finally {
      await bob.close();
      await alice.close();
    }
  },
};
