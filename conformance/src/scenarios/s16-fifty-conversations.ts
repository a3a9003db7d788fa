/**
 * Bob's device is offline while he is added to fifty groups and each one
 * gets twenty messages. When it comes back it lists all fifty groups with
 * their titles and members, stores each group's history exactly, counts
 * twenty unread messages in each, and its cursor is at the end.
 */
import assert from "node:assert/strict";

import { assertCursorAtEnd, fillConversations } from "./catch-up.js";
import { assertMatchesServer } from "./checks.js";
import type { Scenario } from "./types.js";

const CONVERSATIONS = 50;
const MESSAGES_PER_CONVERSATION = 20;
const SENDERS = ["carol", "dmitri", "layla"];
const WAIT_MS = 60_000;

export const fiftyConversations: Scenario = {
  id: "S16",
  title: "a device offline while fifty conversations fill up catches up on all of them",
  profile: "offline",
  guarantees: ["G5 differential sync by cursor", "G11 nobody misses a message", "G4 one order for everyone"],
  serverArgs: ["--rate-limit", "0"],
  timeoutMs: 120_000,

  async run(context) {
    const bobOptions = context.clientOptions("bob");
    context.step("bob starts once to get a cursor, then goes away");
    const first = await context.runtime.createClient(bobOptions);
    await first.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
    await first.close();

    context.step(`${SENDERS.length} senders fill ${CONVERSATIONS} groups with ${MESSAGES_PER_CONVERSATION} messages each`);
    const conversationIds = await fillConversations(context, {
      member: "bob",
      senders: SENDERS,
      conversations: CONVERSATIONS,
      messagesPerConversation: MESSAGES_PER_CONVERSATION,
    });

    context.step("bob comes back");
    const bob = await context.runtime.createClient(bobOptions);
    try {
      for (const conversationId of conversationIds) {
        await bob.waitFor({ kind: "stored", conversationId, count: MESSAGES_PER_CONVERSATION }, WAIT_MS);
      }
      const snapshot = await bob.waitFor({ kind: "unread", conversationId: conversationIds.at(-1)!, count: MESSAGES_PER_CONVERSATION }, WAIT_MS);
      const checker = context.user("bob");
      for (const [index, conversationId] of conversationIds.entries()) {
        const stored = snapshot.conversations.find((c) => c.conversationId === conversationId);
        assert.ok(stored, `bob must list ${conversationId}`);
        assert.equal(stored.title, `catch-up ${index + 1}`, `${conversationId} must carry its title`);
        assert.deepEqual(
          [...stored.memberIds].sort(),
          ["bob", ...SENDERS].sort(),
          `${conversationId} must list its members`,
        );
        assert.equal(stored.unreadCount, MESSAGES_PER_CONVERSATION, `${conversationId} must count every message as unread`);
        assertMatchesServer(snapshot.stored[conversationId] ?? [], await checker.history(conversationId), conversationId);
      }
      assert.equal(
        snapshot.conversations.length,
        CONVERSATIONS,
        `bob must list exactly the ${CONVERSATIONS} groups he belongs to`,
      );
      await assertCursorAtEnd(context, bob, "bob");
    } finally {
      await bob.close();
    }
  },
};
