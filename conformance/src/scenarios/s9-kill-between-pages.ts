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

import { assertCaughtUp, BOB_BACKLOG, fillConversations, SLOW_CHUNK_DELAY_MS, waitForFirstPage } from "./catch-up.js";
import { requireFaultProxy } from "./setup.js";
import type { Scenario } from "./types.js";

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
    const proxy = requireFaultProxy(context);
    const { conversations, messagesPerConversation } = BOB_BACKLOG;
    const total = conversations * messagesPerConversation;
    const conversationIds = await fillConversations(context, BOB_BACKLOG);

    context.step(`bob catches up on ${total} messages through a slow network`);
    proxy.delay(SLOW_CHUNK_DELAY_MS);
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
      await assertCaughtUp(context, bob, "bob", conversationIds, messagesPerConversation, WAIT_MS);
    } finally {
      await bob.close().catch(() => bob.kill());
    }
  },
};
