/** Helpers for the catch-up scenarios: filling conversations fast, catching a catch-up between pages and checking a cursor. */
import assert from "node:assert/strict";

import type { RuntimeClient } from "../runtimes/types.js";
import { assertMatchesServer, pause } from "./checks.js";
import type { ScenarioContext } from "./types.js";

/** How many conversations to fill and who writes. */
export interface FillPlan {
  /** The user who is a member of every conversation and sends nothing. */
  member: string;
  /** Users who create the groups and write the messages, in turn. */
  senders: readonly string[];
  conversations: number;
  messagesPerConversation: number;
}

/**
 * The backlog that the interrupted catch-up scenarios fill for bob: four
 * groups of 150 messages from carol and dmitri, 600 in all, so bob's
 * catch-up spans many pages.
 */
export const BOB_BACKLOG: FillPlan = {
  member: "bob",
  senders: ["carol", "dmitri"],
  conversations: 4,
  messagesPerConversation: 150,
};

/** Proxy delay per chunk that stretches bob's catch-up of BOB_BACKLOG over several seconds. */
export const SLOW_CHUNK_DELAY_MS = 150;

/**
 * Creates the groups and commits the messages through the protocol, one
 * sending chain per conversation running side by side. Returns the
 * conversation ids in creation order.
 */
export async function fillConversations(context: ScenarioContext, plan: FillPlan): Promise<string[]> {
  const senders = plan.senders.map((userId) => context.user(userId));
  assert.ok(senders.length > 0, "fillConversations needs at least one sender");

  const conversationIds: string[] = [];
  for (let i = 0; i < plan.conversations; i++) {
    const creator = senders[i % senders.length]!;
    const others = plan.senders.filter((id) => id !== creator.userId);
    conversationIds.push(await creator.createGroup(`catch-up ${i + 1}`, [plan.member, ...others]));
  }

  await Promise.all(
    conversationIds.map(async (conversationId, i) => {
      for (let j = 0; j < plan.messagesPerConversation; j++) {
        const sender = senders[(i + j) % senders.length]!;
        await sender.send(conversationId, `message ${j + 1} of group ${i + 1} from ${sender.userId}`);
      }
    }),
  );
  return conversationIds;
}

/**
 * Asserts that the client's stored cursor reaches the end of its user's log:
 * a Sync from it returns no events. The client may still be applying its
 * own receipt events, so this polls until `timeoutMs`.
 */
export async function assertCursorAtEnd(
  context: ScenarioContext,
  client: RuntimeClient,
  userId: string,
  timeoutMs = 10_000,
): Promise<void> {
  const probe = context.user(userId);
  const deadline = Date.now() + timeoutMs;
  let lastSeen = "";
  while (Date.now() < deadline) {
    const { cursor } = await client.snapshot();
    assert.notEqual(cursor, "", `${userId} has no stored cursor`);
    const page = await probe.chat.sync({ cursor, deviceId: "cursor-probe", limit: 10 });
    if (page.events.length === 0) return;
    lastSeen = page.events.map((event) => event.kind.case ?? "unknown").join(", ");
    await pause(200);
  }
  assert.fail(`${userId}'s stored cursor is not at the end after ${timeoutMs} ms; Sync still returns: ${lastSeen}`);
}

/**
 * Polls the client every 20 ms until it stores a message of any of the
 * conversations, and returns how many it stores then: a point between two
 * catch-up pages. Returns 0 when nothing arrived within `timeoutMs`.
 */
export async function waitForFirstPage(
  client: RuntimeClient,
  conversationIds: readonly string[],
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let stored = 0;
  while (stored === 0 && Date.now() < deadline) {
    const snapshot = await client.snapshot();
    stored = conversationIds.reduce((sum, id) => sum + (snapshot.stored[id]?.length ?? 0), 0);
    if (stored === 0) await pause(20);
  }
  return stored;
}

/**
 * Waits until `client` stores `messagesPerConversation` messages in each
 * conversation, then asserts that it stores exactly the server's history of
 * each and that its cursor reaches the end of `userId`'s log.
 */
export async function assertCaughtUp(
  context: ScenarioContext,
  client: RuntimeClient,
  userId: string,
  conversationIds: readonly string[],
  messagesPerConversation: number,
  timeoutMs: number,
): Promise<void> {
  for (const conversationId of conversationIds) {
    await client.waitFor({ kind: "stored", conversationId, count: messagesPerConversation }, timeoutMs);
  }
  const snapshot = await client.snapshot();
  const checker = context.user(userId);
  for (const conversationId of conversationIds) {
    assertMatchesServer(snapshot.stored[conversationId] ?? [], await checker.history(conversationId), conversationId);
  }
  await assertCursorAtEnd(context, client, userId);
}
