/**
 * Mallory is not a member of alice and bob's conversation. Reading its
 * history or state, sending to it and acknowledging it all fail with
 * not_found (or permission_denied), exactly as for a conversation that does
 * not exist, and nothing of it reaches mallory's event log, stream or
 * client storage.
 */
import assert from "node:assert/strict";

import { toJsonString } from "@bufbuild/protobuf";
import { EventSchema, type Event } from "@chatwire/gen";

import { expectRejected, uuidv7, type ProtocolUser, type RejectedCall } from "./protocol.js";
import type { Scenario } from "./types.js";

const DENIED = new Set(["not_found", "permission_denied"]);
const SECRET = "the launch date is a secret";
const WAIT_MS = 15_000;

export const nonMember: Scenario = {
  id: "S7",
  title: "a non-member can neither read, write nor observe a conversation",
  profile: "core",
  guarantees: ["G12 authenticated and authorized"],
  timeoutMs: 45_000,

  async run(context) {
    const alice = context.user("alice");
    const mallory = context.user("mallory");
    const conversationId = await alice.createDirect("bob");
    await alice.send(conversationId, SECRET);
    const missingId = `${conversationId}-missing`;

    context.step("mallory probes the conversation through the protocol");
    const probes: [string, (id: string) => Promise<unknown>][] = [
      ["GetHistory", (id) => mallory.chat.getHistory({ conversationId: id })],
      ["GetConversation", (id) => mallory.conversations.getConversation({ conversationId: id })],
      [
        "SendMessage",
        (id) => mallory.chat.sendMessage({ conversationId: id, clientMessageId: uuidv7(), text: "hi", deviceId: "mallory-1" }),
      ],
      [
        "Acknowledge",
        (id) => mallory.chat.acknowledge({ deviceId: "mallory-1", marks: [{ conversationId: id, readSeq: 1n }] }),
      ],
      ["AddMembers", (id) => mallory.conversations.addMembers({ conversationId: id, userIds: ["mallory"] })],
    ];
    for (const [name, probe] of probes) {
      const denied = await expectRejected(`${name} by a non-member`, () => probe(conversationId));
      assertDenied(denied, name);
      const missing = await expectRejected(`${name} of a missing conversation`, () => probe(missingId));
      assert.equal(
        denied.code,
        missing.code,
        `${name}: a non-member gets ${denied.codeName}, a missing conversation ${missing.codeName}; they must match`,
      );
      assert.ok(!denied.message.includes(SECRET), `${name}: the error message leaks the conversation's text`);
    }

    context.step("mallory's client queues a message to the conversation");
    const client = await context.runtime.createClient(context.clientOptions("mallory"));
    try {
      const { clientMessageId } = await client.send(conversationId, "let me in");
      const parked = await client.waitFor({ kind: "status", conversationId, clientMessageId, status: "failed" }, WAIT_MS);
      const entry = parked.outbox.find((item) => item.clientMessageId === clientMessageId);
      assert.ok(entry, "the rejected message must stay in mallory's outbox");
      assert.ok(DENIED.has(entry.failureCode ?? ""), `the send must fail with not_found; got ${entry.failureCode}`);

      await alice.send(conversationId, `${SECRET}, still`);
      await client.syncNow();
      const snapshot = await client.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
      assert.ok(
        !snapshot.conversations.some((c) => c.conversationId === conversationId),
        "mallory's storage must not hold the conversation",
      );
      assert.equal(snapshot.stored[conversationId]?.length ?? 0, 0, "mallory's storage must hold none of its messages");
      assert.ok(!JSON.stringify(snapshot).includes(SECRET), "mallory's client state contains the secret text");
    } finally {
      await client.close();
    }

    context.step("mallory's log and stream carry nothing of it");
    const { events } = await mallory.syncAll();
    assertNothingLeaks(events, conversationId, "Sync");
    assertNothingLeaks(await subscribeBriefly(mallory.chat, () => alice.send(conversationId, "live")), conversationId, "Subscribe");
  },
};

function assertDenied(rejected: RejectedCall, call: string): void {
  assert.ok(
    DENIED.has(rejected.codeName),
    `${call} by a non-member got ${rejected.codeName} (${rejected.message}); expected not_found or permission_denied`,
  );
}

function assertNothingLeaks(events: readonly Event[], conversationId: string, source: string): void {
  for (const event of events) {
    const json = toJsonString(EventSchema, event);
    assert.ok(!json.includes(conversationId), `${source} gave mallory an event of the conversation: ${json}`);
    assert.ok(!json.includes(SECRET), `${source} gave mallory the conversation's text: ${json}`);
  }
}

/**
 * Opens a Subscribe stream as the client's user, runs `during` once the
 * catch-up is done, and returns every event the stream carried within a
 * second after that.
 */
async function subscribeBriefly(
  chat: ProtocolUser["chat"],
  during: () => Promise<unknown>,
): Promise<Event[]> {
  const abort = new AbortController();
  const events: Event[] = [];
  const timer = setTimeout(() => abort.abort(), WAIT_MS);
  let triggered = false;
  try {
    for await (const frame of chat.subscribe({ cursor: "", deviceId: "mallory-stream" }, { signal: abort.signal })) {
      if (frame.kind.case === "batch") events.push(...frame.kind.value.events);
      const caughtUp = frame.kind.case === "heartbeat" || (frame.kind.case === "batch" && !frame.kind.value.hasMore);
      if (caughtUp && !triggered) {
        triggered = true;
        await during();
        clearTimeout(timer);
        setTimeout(() => abort.abort(), 1_000);
      }
    }
  } catch (error) {
    if (!abort.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  return events;
}
