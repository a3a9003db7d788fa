/**
 * B's catch-up is killed with SIGKILL between two pages. Each page and its
 * cursor commit in one local transaction, so after a restart on the same
 * storage B re-fetches from its stored cursor and ends with every message
 * exactly once, its cursor at the end.
 *
 * The proxy delays every chunk so that the catch-up takes several seconds
 * and the kill lands in the middle of it.
 */
import assert from "node:assert/strict";

import { assertCursorAtEnd, fillConversations, waitForFirstPage } from "./catch-up.js";
import { assertMatchesServer } from "./checks.js";
import type { Scenario } from "./types.js";

const CONVERSATIONS = 4;
const MESSAGES_PER_CONVERSATION = 150;
const CHUNK_DELAY_MS = 150;
const WAIT_MS = 60_000;

export const killBetweenPages: Scenario = {
  id: "S9",
  title: "a catch-up killed between pages resumes from its cursor, once each",
  profile: "offline",
  guarantees: ["G5 differential sync by cursor", "G1 durable local accept"],
  serverArgs: ["--rate-limit", "0"],
  proxy: true,
  timeoutMs: 120_000,

  async run(context) {
    const proxy = context.proxy;
    assert.ok(proxy, "this scenario needs the fault proxy");
    const total = CONVERSATIONS * MESSAGES_PER_CONVERSATION;
    const conversationIds = await fillConversations(context, {
      member: "bob",
      senders: ["carol", "dmitri"],
      conversations: CONVERSATIONS,
      messagesPerConversation: MESSAGES_PER_CONVERSATION,
    });

    context.step(`bob catches up on ${total} messages through a slow network`);
    proxy.delay(CHUNK_DELAY_MS);
    const options = context.clientOptions("bob", "main", { baseUrl: proxy.url, tuning: { catchUpPageSize: 50 } });
    let bob = await context.runtime.startHost(options);
    try {
      const storedAtKill = await waitForFirstPage(bob, conversationIds, WAIT_MS);
      await bob.kill();
      assert.ok(
        storedAtKill > 0 && storedAtKill < total,
        `the kill must land mid catch-up; bob had stored ${storedAtKill} of ${total}`,
      );

      context.step(`bob was killed with ${storedAtKill} of ${total} stored and restarts`);
      proxy.reset();
      bob = await context.runtime.startHost(options);
      for (const conversationId of conversationIds) {
        await bob.waitFor({ kind: "stored", conversationId, count: MESSAGES_PER_CONVERSATION }, WAIT_MS);
      }
      const snapshot = await bob.snapshot();
      const checker = context.user("bob");
      for (const conversationId of conversationIds) {
        assertMatchesServer(snapshot.stored[conversationId] ?? [], await checker.history(conversationId), conversationId);
      }
      await assertCursorAtEnd(context, bob, "bob");
    } finally {
      await bob.close().catch(() => bob.kill());
    }
  },
};
