/**
 * Bob reads two conversations on his phone. The server keeps events for one
 * second and deletes older ones every 200 ms, so soon no event of either
 * conversation is left in bob's log. Then bob signs in on a new tablet with
 * empty storage. A sync from the empty cursor would return nothing, so the
 * tablet must load the conversations themselves: it shows both, each with
 * its latest messages as the server has them.
 */
import assert from "node:assert/strict";

import { assertNoRepeats, pause, pollUntil } from "./checks.js";
import type { Scenario } from "./types.js";

const RETENTION_SECONDS = 1;
const PRUNE_INTERVAL_MS = 200;
const WAIT_MS = 20_000;
/** How long the server may take to delete bob's expired events, in ms. */
const PRUNE_WAIT_MS = 10_000;

export const freshDeviceAfterPruning: Scenario = {
  id: "S35",
  title: "a new device shows every conversation after the server deleted all their events",
  profile: "multi-device",
  guarantees: ["G11 nobody misses a message", "G8 receipts and multi-device"],
  serverArgs: ["--retention-seconds", String(RETENTION_SECONDS), "--prune-interval-ms", String(PRUNE_INTERVAL_MS)],
  timeoutMs: 60_000,

  async run(context) {
    const alice = context.user("alice");
    const carol = context.user("carol");
    const phone = await context.runtime.createClient(context.clientOptions("bob", "phone"));
    let direct: string;
    let group: string;
    try {
      direct = await alice.createDirect("bob");
      group = await carol.createGroup("pruned group", ["bob"]);
      for (const text of ["one", "two", "three"]) await alice.send(direct, text);
      for (const text of ["g1", "g2"]) await carol.send(group, text);
      await phone.waitFor({ kind: "stored", conversationId: direct, count: 3 }, WAIT_MS);
      await phone.waitFor({ kind: "stored", conversationId: group, count: 2 }, WAIT_MS);
    } finally {
      await phone.close();
    }

    context.step(`the retention of ${RETENTION_SECONDS} s passes and the server deletes bob's events`);
    await pause(RETENTION_SECONDS * 1_000 + PRUNE_INTERVAL_MS);
    const bob = context.user("bob");
    await pollUntil(
      () => bob.chat.sync({ deviceId: "prune-probe" }),
      (page) => !page.events.some((event) => event.kind.case === "message" || event.kind.case === "conversation"),
      PRUNE_WAIT_MS,
      "the server to delete bob's message and conversation events",
    );

    context.step("bob starts a tablet with empty storage");
    const tablet = await context.runtime.createClient(context.clientOptions("bob", "tablet"));
    try {
      const histories = new Map([
        [direct, await alice.history(direct)],
        [group, await carol.history(group)],
      ]);
      for (const [conversationId, history] of histories) {
        await tablet.waitFor({ kind: "stored", conversationId, count: history.length }, WAIT_MS);
      }
      const state = await pollUntil(
        () => tablet.snapshot(),
        (snapshot) => [...histories.keys()].every((id) => snapshot.conversations.some((c) => c.conversationId === id)),
        WAIT_MS,
        "the tablet to list both conversations",
      );
      for (const [conversationId, history] of histories) {
        assert.deepEqual(
          state.stored[conversationId]?.map((message) => [message.seq, message.text]),
          history.map((message) => [Number(message.seq), message.text]),
          `the tablet must store ${conversationId} as the server has it`,
        );
        assertNoRepeats(state.views[conversationId] ?? [], `the tablet's view of ${conversationId}`);
      }
      const listed = state.conversations.find((c) => c.conversationId === group);
      assert.equal(listed?.title, "pruned group", "the tablet shows the group's title");
    } finally {
      await tablet.close();
    }
  },
};
