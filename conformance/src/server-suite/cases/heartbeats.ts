/**
 * Subscribe heartbeats: the first frame is a heartbeat carrying the interval,
 * and an idle stream, before and after a live batch, never stays silent for
 * more than 1.5 times ServerLimits.heartbeat_interval_ms.
 */
import assert from "node:assert/strict";

import type { ServerLimits } from "@chatwire/gen";

import { heartbeatCount, recordStream, type TimedFrame } from "../streams.js";
import { WIRE_PROTOCOLS, type ServerCase } from "../types.js";
import { messagesIn } from "./helpers.js";

/** The first heartbeat must arrive this soon after Subscribe starts, in ms. */
const FIRST_FRAME_BOUND_MS = 3_000;
/** Largest allowed gap between two frames, as a multiple of the advertised interval. */
const GAP_FACTOR = 1.5;

function intervalOf(limits: ServerLimits): number {
  return limits.heartbeatIntervalMs;
}

const firstHeartbeat: ServerCase = {
  id: "server.subscribe.first-heartbeat",
  title: "Subscribe sends a heartbeat with the advertised interval first, then the catch-up",
  profile: "core",
  guarantees: ["G6 real-time with fallback", "G9 explicit connection state"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    await alice.send(conversationId, "backlog one");
    await alice.send(conversationId, "backlog two");

    const stream = recordStream(bob);
    try {
      await stream.waitFor("the first frame", (frames) => frames.length > 0, FIRST_FRAME_BOUND_MS);
      const first = stream.frames[0];
      assert.equal(first?.frame.kind.case, "heartbeat", "the first frame of Subscribe is a heartbeat, even with a backlog");
      const heartbeat = first?.frame.kind.case === "heartbeat" ? first.frame.kind.value : undefined;
      assert.equal(heartbeat?.intervalMs, context.limits.heartbeatIntervalMs, "the heartbeat carries ServerLimits.heartbeat_interval_ms");

      await stream.waitFor(
        "the backlog",
        () => messagesIn(stream.events(), conversationId).length >= 2,
        FIRST_FRAME_BOUND_MS + context.limits.heartbeatIntervalMs,
      );
      const texts = messagesIn(stream.events(), conversationId).map((message) => message.text);
      assert.deepEqual(texts, ["backlog one", "backlog two"], "the catch-up carries the backlog in order");
    } finally {
      stream.close();
    }
  },
};

const idleHeartbeats: ServerCase = {
  id: "server.subscribe.idle-heartbeats",
  title: `an idle stream gets a frame at least every ${GAP_FACTOR} heartbeat intervals, before and after a live batch`,
  profile: "core",
  guarantees: ["G6 real-time with fallback", "G9 explicit connection state"],
  protocols: WIRE_PROTOCOLS,
  extraTimeoutMs: (limits) => 5 * intervalOf(limits),
  async run(context) {
    const interval = context.limits.heartbeatIntervalMs;
    assert.ok(interval > 0, "ServerLimits.heartbeat_interval_ms must be above 0");
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);

    const stream = recordStream(bob);
    const waitBound = 2 * interval + FIRST_FRAME_BOUND_MS;
    try {
      await stream.waitFor("the first and one idle heartbeat", (frames) => heartbeatCount(frames) >= 2, waitBound);
      await alice.send(conversationId, "live");
      await stream.waitFor("the live batch", () => messagesIn(stream.events(), conversationId).length > 0, waitBound);
      const batchIndex = stream.frames.findIndex(
        ({ frame }) => frame.kind.case === "batch" && messagesIn(frame.kind.value.events, conversationId).length > 0,
      );
      await stream.waitFor(
        "the heartbeat after the live batch",
        (frames) => frames.slice(batchIndex + 1).some(({ frame }) => frame.kind.case === "heartbeat"),
        waitBound,
      );
    } finally {
      stream.close();
    }
    assertGaps(stream.frames, interval);
  },
};

/** Checks that no two consecutive frames are further apart than GAP_FACTOR intervals. */
function assertGaps(frames: readonly TimedFrame[], interval: number): void {
  const bound = GAP_FACTOR * interval;
  for (let index = 1; index < frames.length; index++) {
    const previous = frames[index - 1];
    const current = frames[index];
    if (previous === undefined || current === undefined) continue;
    const gap = current.at - previous.at;
    assert.ok(
      gap <= bound,
      `frames ${index - 1} (${previous.frame.kind.case}) and ${index} (${current.frame.kind.case}) arrived ` +
        `${Math.round(gap)} ms apart; the interval is ${interval} ms, so at most ${bound} ms`,
    );
  }
}

export const heartbeatCases: readonly ServerCase[] = [firstHeartbeat, idleHeartbeats];
