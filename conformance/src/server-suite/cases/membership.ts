/**
 * Membership: a non-member gets exactly the not_found a missing
 * conversation gets, from every RPC that names a conversation, and nothing
 * of the conversation reaches its log, its stream or its conversation list.
 */
import assert from "node:assert/strict";

import { Code } from "@connectrpc/connect";
import { ErrorReason, type Event } from "@chatwire/gen";

import { uuidv7 } from "../../scenarios/protocol.js";
import { expectRejected } from "../assertions.js";
import { recordStream } from "../streams.js";
import { WIRE_PROTOCOLS, type ServerCase, type SuiteUser } from "../types.js";
import { conversationIdsOf, messagesIn, readHistory } from "./helpers.js";

const SECRET = "the launch date is friday";
const STREAM_WAIT_MS = 5_000;

/** Returns, for every RPC that names a conversation, a function that calls it as `user`. */
function probes(user: SuiteUser, victimId: string): Array<[string, (conversationId: string) => Promise<unknown>]> {
  return [
    ["GetConversation", (conversationId) => user.conversations.getConversation({ conversationId })],
    ["GetHistory", (conversationId) => user.chat.getHistory({ conversationId })],
    ["SendMessage", (conversationId) => user.send(conversationId, "let me in")],
    ["Acknowledge", (conversationId) => user.chat.acknowledge({ deviceId: user.deviceId, marks: [{ conversationId, readSeq: 1n }] })],
    ["AddMembers", (conversationId) => user.conversations.addMembers({ conversationId, userIds: [user.userId] })],
    ["RemoveMembers", (conversationId) => user.conversations.removeMembers({ conversationId, userIds: [victimId] })],
  ];
}

const notFound: ServerCase = {
  id: "server.membership.not-found",
  title: "a non-member gets the same not_found CONVERSATION_NOT_FOUND as for a missing conversation, from every RPC",
  profile: "core",
  guarantees: ["G12 authenticated and authorized"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const mallory = context.user("mallory");
    const direct = await alice.createDirect(bob.userId);
    const group = await alice.createGroup([bob.userId], "plans");
    await alice.send(direct, SECRET);
    await alice.send(group, SECRET);
    const missing = uuidv7();
    const expected = { code: Code.NotFound, reason: ErrorReason.CONVERSATION_NOT_FOUND };

    for (const [rpc, call] of probes(mallory, alice.userId)) {
      const unknown = await expectRejected(`${rpc} of a missing conversation`, call(missing), expected);
      for (const [kind, conversationId] of [["direct", direct], ["group", group]] as const) {
        const label = `${rpc} of a ${kind} conversation by a non-member`;
        const rejection = await expectRejected(label, call(conversationId), expected);
        assert.equal(rejection.message, unknown.message.replaceAll(missing, conversationId), `${label}: the message equals the one for a missing conversation`);
        assert.equal(rejection.detail?.field, unknown.detail?.field, `${label}: ErrorDetail.field equals the one for a missing conversation`);
        assert.ok(!rejection.message.includes(SECRET), `${label}: the message leaks nothing of the conversation`);
      }
    }

    assert.deepEqual((await readHistory(alice, direct)).map((message) => message.text), [SECRET], "the direct conversation is unchanged");
    assert.deepEqual((await readHistory(alice, group)).map((message) => message.text), [SECRET], "the group's messages are unchanged");
    const members = (await alice.conversations.getConversation({ conversationId: group })).conversation?.members ?? [];
    assert.deepEqual(members.map((member) => member.userId).sort(), [alice.userId, bob.userId].sort(), "the group's members are unchanged");
  },
};

/** Fails when any of `events` refers to one of `conversationIds` or carries the secret. */
function assertNothingOf(label: string, events: readonly Event[], conversationIds: readonly string[]): void {
  for (const event of events) {
    const refers = conversationIdsOf(event).filter((id) => conversationIds.includes(id));
    assert.deepEqual(refers, [], `${label}: event ${event.position} refers to a conversation the user is not in`);
    const text = event.kind.case === "message" ? event.kind.value.message?.text : undefined;
    assert.notEqual(text, SECRET, `${label}: event ${event.position} carries another conversation's message`);
  }
}

const logIsolation: ServerCase = {
  id: "server.membership.log-isolation",
  title: "a non-member's Sync, Subscribe and ListConversations show nothing of other users' conversations",
  profile: "core",
  guarantees: ["G12 authenticated and authorized"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const mallory = context.user("mallory");
    const own = await mallory.createDirect(context.user("zed").userId);
    const direct = await alice.createDirect(bob.userId);
    const group = await alice.createGroup([bob.userId], "plans");
    const foreign = [direct, group];
    await alice.send(direct, SECRET);
    await alice.send(group, SECRET);

    assertNothingOf("mallory's Sync", (await mallory.syncAll()).events, foreign);
    const listed = (await mallory.conversations.listConversations({})).conversations.map((conversation) => conversation.conversationId);
    assert.deepEqual(listed, [own], "ListConversations returns only mallory's own conversation");

    const stream = recordStream(mallory);
    try {
      await stream.waitFor("the first frame", (frames) => frames.length > 0, STREAM_WAIT_MS);
      await alice.send(direct, SECRET);
      await alice.send(group, SECRET);
      // Mallory's own message comes after alice's in commit order, so once it
      // is on the stream, anything of alice's would have arrived too.
      await mallory.send(own, "marker");
      await stream.waitFor("mallory's own message", () => messagesIn(stream.events(), own).length > 0, STREAM_WAIT_MS);
    } finally {
      stream.close();
    }
    assertNothingOf("mallory's Subscribe stream", stream.events(), foreign);
    assertNothingOf("mallory's Sync after the live messages", (await mallory.syncAll()).events, foreign);
  },
};

const removedMember: ServerCase = {
  id: "server.membership.removed",
  title: "a removed member keeps what it had, gets a removed event last and nothing sent after",
  profile: "core",
  guarantees: ["G12 authenticated and authorized"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const carol = context.user("carol");
    const mallory = context.user("mallory");
    const group = await carol.createGroup([mallory.userId], "soon without mallory");
    await carol.send(group, "welcome");
    await carol.conversations.removeMembers({ conversationId: group, userIds: [mallory.userId] });
    await carol.send(group, "after removal");

    const expected = { code: Code.NotFound, reason: ErrorReason.CONVERSATION_NOT_FOUND };
    await expectRejected("GetHistory by a removed member", mallory.chat.getHistory({ conversationId: group }), expected);
    await expectRejected("SendMessage by a removed member", mallory.send(group, "still here?"), expected);

    const events = (await mallory.syncAll()).events.filter((event) => conversationIdsOf(event).includes(group));
    assert.deepEqual(messagesIn(events, group).map((message) => message.text), ["welcome"], "the removed member's log has only the message before removal");
    const last = events.at(-1);
    assert.equal(last?.kind.case, "conversation", "the last event of the group in the removed member's log is a ConversationEvent");
    assert.equal(last?.kind.case === "conversation" ? last.kind.value.removed : undefined, true, "that event has removed = true");
  },
};

export const membershipCases: readonly ServerCase[] = [notFound, logIsolation, removedMember];
