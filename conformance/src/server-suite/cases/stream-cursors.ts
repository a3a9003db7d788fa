/**
 * Subscribe batch cursors: every batch, catch-up or live, carries the cursor
 * after its last event, so a client that stores it and later resumes with
 * Sync gets exactly the events after the batch.
 */
import assert from "node:assert/strict";

import { recordStream } from "../streams.js";
import { WIRE_PROTOCOLS, type ServerCase } from "../types.js";
import { messagesIn, positionsOf } from "./helpers.js";

/** How long the backlog and the live message may take to arrive on the stream, in ms. */
const ARRIVAL_BOUND_MS = 5_000;
const BACKLOG = 3;

const batchCursors: ServerCase = {
  id: "server.subscribe.batch-cursors",
  title: "each Subscribe batch, catch-up and live, carries the cursor after its last event; Sync from it returns exactly the rest",
  profile: "core",
  guarantees: ["G5 differential sync by cursor", "G6 real-time with fallback"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    for (let index = 1; index <= BACKLOG; index++) await alice.send(conversationId, `backlog ${index}`);

    const stream = recordStream(bob);
    try {
      await stream.waitFor("the backlog", () => messagesIn(stream.events(), conversationId).length >= BACKLOG, ARRIVAL_BOUND_MS);
      await alice.send(conversationId, "live");
      await stream.waitFor("the live message", () => messagesIn(stream.events(), conversationId).length > BACKLOG, ARRIVAL_BOUND_MS);
    } finally {
      stream.close();
    }

    const all = positionsOf((await bob.syncAll()).events);
    const batches = stream.frames.flatMap(({ frame }) => (frame.kind.case === "batch" && frame.kind.value.events.length > 0 ? [frame.kind.value] : []));
    assert.ok(batches.length > 0, "the stream carried at least one batch");
    for (const [index, batch] of batches.entries()) {
      const last = Number(batch.events[batch.events.length - 1]?.position);
      const rest = positionsOf((await bob.syncAll(batch.cursor)).events);
      assert.deepEqual(
        rest,
        all.filter((position) => position > last),
        `Sync from the cursor of batch ${index + 1} (last position ${last}) returns exactly the events after it`,
      );
    }
  },
};

export const streamCursorCases: readonly ServerCase[] = [batchCursors];
