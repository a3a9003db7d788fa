/**
 * The server crashes (SIGKILL) while bob is between two pages of a
 * catch-up, and comes back a moment later on the same data. Bob's stored
 * cursor still names a position the server keeps, so the client resumes
 * from it and ends with every message once and its cursor at the end.
 *
 * The proxy delays every chunk so that the catch-up takes several seconds
 * and the crash lands in the middle of it.
 */
import assert from "node:assert/strict";

import { assertCursorAtEnd, fillConversations, waitForFirstPage } from "./catch-up.js";
import { assertMatchesServer, pause } from "./checks.js";
import type { Scenario } from "./types.js";

const CONVERSATIONS = 4;
const MESSAGES_PER_CONVERSATION = 150;
const CHUNK_DELAY_MS = 150;
const DOWNTIME_MS = 500;
const WAIT_MS = 60_000;

export const serverCrashBetweenPages: Scenario = {
  id: "S23",
  title: "a server crash between two catch-up pages resumes from the cursor, once each",
  profile: "offline",
  guarantees: ["G5 differential sync by cursor", "G6 real-time with fallback"],
  serverArgs: ["--rate-limit", "0"],
  proxy: true,
  restartsServer: true,
  timeoutMs: 120_000,

  async run(context) {
    const proxy = context.proxy;
    const server = context.server;
    assert.ok(proxy, "this scenario needs the fault proxy");
    assert.ok(server, "this scenario restarts the server");
    const total = CONVERSATIONS * MESSAGES_PER_CONVERSATION;
    const conversationIds = await fillConversations(context, {
      member: "bob",
      senders: ["carol", "dmitri"],
      conversations: CONVERSATIONS,
      messagesPerConversation: MESSAGES_PER_CONVERSATION,
    });

    context.step(`bob catches up on ${total} messages through a slow network`);
    proxy.delay(CHUNK_DELAY_MS);
    const bob = await context.runtime.createClient(
      context.clientOptions("bob", "main", {
        baseUrl: proxy.url,
        tuning: { catchUpPageSize: 50, backoffBaseMs: 100, backoffCapMs: 1_000 },
      }),
    );
    try {
      const storedAtCrash = await waitForFirstPage(bob, conversationIds, WAIT_MS);
      await server.kill("SIGKILL");
      assert.ok(
        storedAtCrash > 0 && storedAtCrash < total,
        `the crash must land mid catch-up; bob had stored ${storedAtCrash} of ${total}`,
      );

      context.step(`the server crashed with ${storedAtCrash} of ${total} stored; it is back after ${DOWNTIME_MS} ms`);
      await pause(DOWNTIME_MS);
      await server.restart();
      proxy.reset();
      for (const conversationId of conversationIds) {
        await bob.waitFor({ kind: "stored", conversationId, count: MESSAGES_PER_CONVERSATION }, WAIT_MS);
      }
      const snapshot = await bob.snapshot();
      const checker = context.user("bob");
      for (const conversationId of conversationIds) {
        assertMatchesServer(snapshot.stored[conversationId] ?? [], await checker.history(conversationId), conversationId);
      }
      await assertCursorAtEnd(context, bob, "bob");
      await bob.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
    } finally {
      proxy.reset();
      await bob.close();
    }
  },
};
