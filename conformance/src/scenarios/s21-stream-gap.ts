/**
 * One frame of alice's live stream is lost on the way: the proxy leaves
 * out the batch that carries bob's second message, and the stream goes on.
 * The next batch does not continue the position alice applied last, so the
 * client must notice the gap, sync again from its cursor and end with every
 * message once, in order, instead of showing a hole.
 */
import assert from "node:assert/strict";

import { assertExactlyOnceInOrder, waitForEvent, withTimeout } from "./checks.js";
import { batchWithText } from "./frames.js";
import { QUICK_RECONNECT, openDirectWithMessage, requireRpcProxy, startAliceBehindProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;

export const streamGap: Scenario = {
  id: "S21",
  title: "a frame lost from the live stream is detected as a gap and re-synced",
  profile: "core",
  guarantees: ["G7 gap and expiry detection", "G4 one order for everyone"],
  rpcProxy: true,
  timeoutMs: 45_000,

  async run(context) {
    const proxy = requireRpcProxy(context);
    const bob = context.user("bob");
    const alice = await startAliceBehindProxy(context, proxy.url, QUICK_RECONNECT);
    try {
      const conversationId = await openDirectWithMessage(bob, alice, "first", WAIT_MS);

      context.step("the proxy drops the stream frame that carries the second message");
      const armedAt = Date.now();
      const dropped = proxy.dropStreamMessages("Subscribe", batchWithText("second"));
      await bob.send(conversationId, "second");
      await withTimeout(dropped, WAIT_MS, "the proxy saw no frame with the second message");
      const afterDrop = await alice.snapshot();
      assert.equal(afterDrop.stored[conversationId]?.length, 1, "alice cannot have the second message before the gap is noticed");

      context.step("the third message reveals the gap");
      await bob.send(conversationId, "third");
      const gap = await waitForEvent(
        alice,
        (event) => event.type === "connection" && event.at >= armedAt && event.next === "waiting",
        WAIT_MS,
        "alice to report the gap and reconnect",
      );
      const reason = (gap.type === "connection" ? (gap.detail as { reason?: unknown }).reason : undefined) ?? "";
      assert.match(String(reason), /gap/i, `alice must name the gap as the reason to reconnect; reason: ${String(reason)}`);

      const state = await alice.waitFor({ kind: "stored", conversationId, count: 3 }, WAIT_MS);
      assertExactlyOnceInOrder(state.stored[conversationId] ?? [], ["first", "second", "third"], "alice's stored messages");
      assert.equal(proxy.stats().messagesDropped, 1, "the proxy must have dropped exactly one frame");
    } finally {
      await alice.close();
    }
  },
};
