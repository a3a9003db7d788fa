/**
 * B is offline while 2,000 messages arrive across 20 conversations from
 * several senders. When B comes back it ends with exactly those messages,
 * in server order per conversation, fetched in more than one page, and its
 * stored cursor is at the end of its log.
 */
import assert from "node:assert/strict";

import { assertMatchesServer } from "./checks.js";
import { assertCursorAtEnd, fillConversations } from "./catch-up.js";
import type { Scenario } from "./types.js";

const CONVERSATIONS = 20;
const MESSAGES_PER_CONVERSATION = 100;
const SENDERS = ["carol", "dmitri", "layla", "priya"];

export const offlineCatchUp: Scenario = {
  id: "S3",
  title: "2,000 messages missed offline arrive exactly once by paged sync",
  profile: "offline",
  guarantees: ["G5 differential sync by cursor", "G4 one order for everyone"],
  // Each sender commits hundreds of messages in a few seconds; 0 turns the per-user rate limit off.
  serverArgs: ["--rate-limit", "0"],
  timeoutMs: 120_000,

  async run(context) {
    const total = CONVERSATIONS * MESSAGES_PER_CONVERSATION;
    assert.ok(
      context.limits.maxPageSize < total,
      `the server's max_page_size (${context.limits.maxPageSize}) must be below ${total} for sync to need pages`,
    );

    context.step("bob starts once to get a cursor, then goes away");
    const bobOptions = context.clientOptions("bob");
    const first = await context.runtime.createClient(bobOptions);
    await first.waitFor({ kind: "connection", state: "connected" }, 15_000);
    const startCursor = (await first.snapshot()).cursor;
    await first.close();

    context.step(`${SENDERS.length} senders write ${total} messages into ${CONVERSATIONS} groups`);
    const conversationIds = await fillConversations(context, {
      member: "bob",
      senders: SENDERS,
      conversations: CONVERSATIONS,
      messagesPerConversation: MESSAGES_PER_CONVERSATION,
    });

    // The same log read by the protocol: it must take several pages.
    const probe = await context.user("bob").syncAll(startCursor);
    const missed = probe.events.filter((event) => event.kind.case === "message").length;
    assert.equal(missed, total, `Sync after bob's cursor must return ${total} message events`);
    assert.ok(probe.pages > 1, `Sync must page the catch-up; it used ${probe.pages} page`);

    context.step("bob comes back and catches up");
    const bob = await context.runtime.createClient(bobOptions);
    try {
      for (const conversationId of conversationIds) {
        await bob.waitFor({ kind: "stored", conversationId, count: MESSAGES_PER_CONVERSATION }, 60_000);
      }

      const snapshot = await bob.snapshot();
      const checker = context.user("bob");
      for (const conversationId of conversationIds) {
        const server = await checker.history(conversationId);
        assertMatchesServer(snapshot.stored[conversationId] ?? [], server, `bob in ${conversationId}`);
      }
      const storedTotal = conversationIds.reduce((sum, id) => sum + (snapshot.stored[id]?.length ?? 0), 0);
      assert.equal(storedTotal, total, `bob must store exactly ${total} messages`);

      await assertCursorAtEnd(context, bob, "bob");
    } finally {
      await bob.close();
    }
  },
};
