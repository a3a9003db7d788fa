/**
 * The server is restarted gracefully (SIGTERM, as in a deploy) while alice
 * and bob are connected. Their streams end with unavailable; while the
 * server is down both keep queuing messages. Each client must report that
 * it lost the connection, reconnect once the server is back, and both end
 * with every message once, in the server's order.
 */
import assert from "node:assert/strict";

import { assertMatchesServer, assertNoRepeats, waitForEvent } from "./checks.js";
import { QUICK_RECONNECT, requireServerControl, startAliceAndBob } from "./setup.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 20_000;

export const serverGracefulRestart: Scenario = {
  id: "S33",
  title: "a graceful server restart under open streams loses and repeats nothing",
  profile: "core",
  guarantees: ["G6 real-time with fallback", "G9 explicit connection state", "G2 exactly-once effect"],
  restartsServer: true,
  timeoutMs: 60_000,

  async run(context) {
    const server = requireServerControl(context);
    const { alice, bob } = await startAliceAndBob(context, QUICK_RECONNECT);
    try {
      const conversationId = await alice.createDirect("bob");
      await alice.send(conversationId, "before the deploy");
      await bob.waitFor({ kind: "stored", conversationId, count: 1 }, WAIT_MS);
      await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
      await bob.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);

      context.step("the server stops gracefully; both clients queue messages while it is down");
      const stoppedAt = Date.now();
      await server.kill("SIGTERM");
      for (const [client, name] of [
        [alice, "alice"],
        [bob, "bob"],
      ] as const) {
        await waitForEvent(
          client,
          (event) => event.type === "connection" && event.at >= stoppedAt && event.prev === "connected",
          WAIT_MS,
          `${name} to report the lost connection`,
        );
      }
      const queued = ["alice during the deploy", "bob during the deploy"];
      await alice.send(conversationId, queued[0]!);
      await bob.send(conversationId, queued[1]!);

      context.step("the server is back");
      await server.restart();
      await alice.waitFor({ kind: "outbox-drained" }, WAIT_MS);
      await bob.waitFor({ kind: "outbox-drained" }, WAIT_MS);
      const history = await context.user("bob").history(conversationId);
      assert.deepEqual(
        [...history.map((message) => message.text)].sort(),
        ["before the deploy", ...queued].sort(),
        "the server must hold each message once",
      );
      for (const [client, name] of [
        [alice, "alice"],
        [bob, "bob"],
      ] as const) {
        await client.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
        const state = await client.waitFor({ kind: "stored", conversationId, count: history.length }, WAIT_MS);
        assertMatchesServer(state.stored[conversationId] ?? [], history, name);
        assertNoRepeats(state.views[conversationId] ?? [], `${name}'s view`);
      }
    } finally {
      await alice.close();
      await bob.close();
    }
  },
};
