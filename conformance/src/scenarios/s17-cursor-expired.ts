/**
 * Bob is offline longer than the server keeps events (one second here),
 * with a message of his own waiting in the outbox. When he comes back the
 * server rejects his cursor as expired. The client must rebuild its state
 * without a silent hole: it keeps and sends the queued message, and shows
 * the current state of every conversation, including one with no activity
 * since the events were deleted, with its full history.
 *
 * The server deletes expired events when it starts, so the scenario
 * restarts it after the retention period has passed.
 */
import assert from "node:assert/strict";

import type { ClientSnapshot } from "../runtimes/types.js";
import { assertNoRepeats, pause, pollUntil, waitForEvent } from "./checks.js";
import { expectRejected } from "./protocol.js";
import { requireServerControl } from "./setup.js";
import type { Scenario } from "./types.js";

const RETENTION_SECONDS = 1;
const WAIT_MS = 20_000;
/** How long the client may take to show the rebuilt state after its queued reply went out. */
const REBUILD_WAIT_MS = 10_000;

export const cursorExpired: Scenario = {
  id: "S17",
  title: "an expired cursor rebuilds the client's state, keeps its outbox and leaves no hole",
  profile: "offline",
  guarantees: ["G7 gap and expiry detection", "G1 durable local accept"],
  serverArgs: ["--retention-seconds", String(RETENTION_SECONDS)],
  restartsServer: true,
  timeoutMs: 60_000,

  async run(context) {
    const server = requireServerControl(context);
    const alice = context.user("alice");
    const carol = context.user("carol");
    const bob = await context.runtime.createClient(
      context.clientOptions("bob", "main", { tuning: { backoffBaseMs: 100, backoffCapMs: 1_000 } }),
    );
    try {
      const busy = await alice.createDirect("bob");
      const quiet = await carol.createGroup("quiet since", ["bob"]);
      for (const text of ["one", "two", "three"]) await alice.send(busy, text);
      await carol.send(quiet, "the only message here");
      await bob.waitFor({ kind: "stored", conversationId: busy, count: 3 }, WAIT_MS);
      await bob.waitFor({ kind: "stored", conversationId: quiet, count: 1 }, WAIT_MS);

      context.step("bob goes offline, queues a reply, and alice writes on");
      await bob.setNetworkAvailable(false);
      await bob.waitFor({ kind: "connection", state: "offline" }, WAIT_MS);
      const reply = await bob.send(busy, "queued while the cursor expires");
      for (const text of ["four", "five"]) await alice.send(busy, text);
      const { cursor } = await bob.snapshot();

      context.step(`the retention of ${RETENTION_SECONDS} s passes and the server restarts, deleting old events`);
      await pause(RETENTION_SECONDS * 1_000 + 500);
      await server.restart();
      const expired = await expectRejected("Sync from bob's stored cursor", () =>
        context.user("bob").chat.sync({ cursor, deviceId: "expiry-probe" }),
      );
      assert.equal(expired.codeName, "out_of_range", `an expired cursor must get out_of_range; got ${expired.codeName}`);

      context.step("bob comes back, rebuilds and sends his queued reply");
      const back = Date.now();
      await bob.setNetworkAvailable(true);
      await waitForEvent(bob, (event) => event.type === "resync" && event.at >= back, WAIT_MS, "bob's client to rebuild");
      await bob.waitFor({ kind: "outbox-drained" }, WAIT_MS);
      const busyHistory = await alice.history(busy);
      assert.deepEqual(
        busyHistory.filter((message) => message.clientMessageId === reply.clientMessageId).length,
        1,
        "the queued reply must reach the server once",
      );

      context.step("bob's client shows the current history of both conversations");
      const histories = new Map([
        [busy, busyHistory],
        [quiet, await carol.history(quiet)],
      ]);
      const complete = (snapshot: ClientSnapshot) =>
        [...histories].every(([id, history]) => (snapshot.stored[id]?.length ?? 0) >= history.length);
      const state = await pollUntil(() => bob.snapshot(), complete, REBUILD_WAIT_MS, "the rebuild").catch(async () => {
        const snapshot = await bob.snapshot();
        const holes = [...histories].map(([id, history]) => {
          const listed = snapshot.conversations.some((c) => c.conversationId === id) ? "listed" : "not listed";
          return `${id} (${listed}): ${snapshot.stored[id]?.length ?? 0} of ${history.length} messages`;
        });
        assert.fail(`${REBUILD_WAIT_MS} ms after the rebuild bob's client shows a hole: ${holes.join("; ")}`);
      });
      for (const [conversationId, history] of histories) {
        assert.deepEqual(
          state.stored[conversationId]?.map((message) => [message.seq, message.text]),
          history.map((message) => [Number(message.seq), message.text]),
          `bob must store ${conversationId} as the server has it`,
        );
        assertNoRepeats(state.views[conversationId] ?? [], `bob's view of ${conversationId}`);
      }
    } finally {
      await bob.close();
    }
  },
};
