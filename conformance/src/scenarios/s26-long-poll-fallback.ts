/**
 * A proxy between alice and the server buffers streaming responses: every
 * Subscribe call reaches the server, and alice never gets its first byte.
 * After two such streams the client must fall back to long-polling Sync,
 * report itself connected via long-poll, and still receive and send in
 * real time.
 */
import assert from "node:assert/strict";

import { assertExactlyOnceInOrder, waitForEvent } from "./checks.js";
import { requireRpcProxy, startAliceBehindProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const FIRST_FRAME_TIMEOUT_MS = 600;
const WAIT_MS = 20_000;
const SUBSCRIBE = "/chatwire.v1.ChatService/Subscribe";

export const longPollFallback: Scenario = {
  id: "S26",
  title: "streams blocked by a buffering proxy fall back to long-polling Sync",
  profile: "core",
  guarantees: ["G6 real-time with fallback", "G9 explicit connection state"],
  rpcProxy: true,
  timeoutMs: 45_000,

  async run(context) {
    const proxy = requireRpcProxy(context);
    const bob = context.user("bob");
    const conversationId = await bob.createDirect("alice");

    context.step("the proxy blocks every stream response; alice starts");
    proxy.blockResponses("Subscribe");
    const alice = await startAliceBehindProxy(context, proxy.url, {
      firstFrameTimeoutMs: FIRST_FRAME_TIMEOUT_MS,
      backoffBaseMs: 100,
      backoffCapMs: 500,
    });
    try {
      const polling = await waitForEvent(
        alice,
        (event) =>
          event.type === "connection" && event.next === "connected" && (event.detail as { via?: unknown }).via === "long-poll",
        WAIT_MS,
        "alice to report a long-poll connection",
      );
      assert.ok((proxy.stats().calls[SUBSCRIBE] ?? 0) >= 2, "alice must have tried at least two streams first");

      context.step("messages flow both ways over long-polling");
      const texts = ["polled 1", "polled 2", "polled 3"];
      for (const text of texts) await bob.send(conversationId, text);
      const state = await alice.waitFor({ kind: "stored", conversationId, count: texts.length }, WAIT_MS);
      assertExactlyOnceInOrder(state.stored[conversationId] ?? [], texts, "alice's stored messages");
      const { clientMessageId } = await alice.send(conversationId, "answered while polling");
      await alice.waitFor({ kind: "status", conversationId, clientMessageId, status: "sent" }, WAIT_MS);
      assert.equal(
        (await bob.history(conversationId)).at(-1)?.text,
        "answered while polling",
        "alice's message must reach the server",
      );

      const events = await alice.events();
      const streamedSince = events.some(
        (event) =>
          event.type === "connection" && event.at > polling.at && (event.detail as { via?: unknown }).via === "stream",
      );
      assert.equal(streamedSince, false, "alice cannot report a stream connection while streams are blocked");
    } finally {
      await alice.close();
    }
  },
};
