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

import { assertCaughtUp, BOB_BACKLOG, fillConversations, SLOW_CHUNK_DELAY_MS, waitForFirstPage } from "./catch-up.js";
import { pause } from "./checks.js";
import { QUICK_RECONNECT, requireFaultProxy, requireServerControl } from "./setup.js";
import type { Scenario } from "./types.js";

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
    const proxy = requireFaultProxy(context);
    const server = requireServerControl(context);
    const { conversations, messagesPerConversation } = BOB_BACKLOG;
    const total = conversations * messagesPerConversation;
    const conversationIds = await fillConversations(context, BOB_BACKLOG);

    context.step(`bob catches up on ${total} messages through a slow network`);
    proxy.delay(SLOW_CHUNK_DELAY_MS);
    const bob = await context.runtime.createClient(
      context.clientOptions("bob", "main", {
        baseUrl: proxy.url,
        tuning: { catchUpPageSize: 50, ...QUICK_RECONNECT },
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
      await assertCaughtUp(context, bob, "bob", conversationIds, messagesPerConversation, WAIT_MS);
      await bob.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
    } finally {
      proxy.reset();
      await bob.close();
    }
  },
};
