/**
 * The network goes silent under an open stream: no bytes, no close. With a
 * 300 ms server heartbeat the client must leave "connected" within about
 * 2.5 heartbeat intervals of the last frame, reconnect once the network is
 * back, and receive everything sent meanwhile, once each.
 *
 * The bound is checked on the client's own state-change timestamps against
 * the moment of the stall, not by timing how long the scenario takes.
 */
import assert from "node:assert/strict";

import { assertExactlyOnceInOrder, pause, waitForEvent } from "./checks.js";
import { openDirectWithMessage, requireFaultProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const HEARTBEAT_MS = 300;
/** The client's liveness factor: a stream silent this many heartbeats is dead. */
const LIVENESS_FACTOR = 2.5;
/**
 * Scheduling slack on a loaded 2-core machine: timers fire late, and the
 * last frame before the stall may have arrived up to one interval earlier,
 * which only makes detection sooner.
 */
const SLACK_MS = 1_000;
const WAIT_MS = 20_000;

export const silentStream: Scenario = {
  id: "S4",
  title: "a silently dead stream is detected, replaced and misses nothing",
  profile: "core",
  guarantees: ["G6 real-time with fallback", "G9 explicit connection state"],
  serverArgs: ["--heartbeat-ms", String(HEARTBEAT_MS)],
  proxy: true,
  timeoutMs: 60_000,

  async run(context) {
    const proxy = requireFaultProxy(context);
    assert.equal(context.limits.heartbeatIntervalMs, HEARTBEAT_MS, "the server must use the heartbeat flag");

    const bob = context.user("bob");
    const alice = await context.runtime.createClient(
      context.clientOptions("alice", "main", {
        baseUrl: proxy.url,
        tuning: { backoffBaseMs: 100, backoffCapMs: 1_000, firstFrameTimeoutMs: 2_000 },
      }),
    );
    try {
      const conversationId = await openDirectWithMessage(bob, alice, "before the stall", WAIT_MS);
      // A few heartbeats pass, so the stream is known to be alive and idle.
      await pause(HEARTBEAT_MS * 3);

      context.step("the proxy stalls every connection without closing it");
      const stalledAt = Date.now();
      proxy.stall();
      const bound = HEARTBEAT_MS * LIVENESS_FACTOR + SLACK_MS;
      const left = await waitForEvent(
        alice,
        (event) => event.type === "connection" && event.at >= stalledAt && event.prev === "connected",
        WAIT_MS,
        'alice leaving the "connected" state after the stall',
      );
      const detectedAfter = left.at - stalledAt;
      assert.ok(
        detectedAfter <= bound,
        `alice left "connected" ${detectedAfter} ms after the stall; the liveness bound is ` +
          `${LIVENESS_FACTOR} x ${HEARTBEAT_MS} ms + ${SLACK_MS} ms slack = ${bound} ms`,
      );

      context.step("bob sends while alice's network is silent");
      const texts = ["during the stall 1", "during the stall 2", "during the stall 3"];
      for (const text of texts) await bob.send(conversationId, text);

      context.step("the network comes back");
      proxy.resume();
      await alice.waitFor({ kind: "stored", conversationId, count: 4 }, WAIT_MS);
      await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);

      const stored = (await alice.snapshot()).stored[conversationId] ?? [];
      assertExactlyOnceInOrder(stored, ["before the stall", ...texts], "alice's stored messages");
    } finally {
      proxy.reset();
      await alice.close();
    }
  },
};
