import { Code } from "@connectrpc/connect";
import { ConversationKind, ErrorReason, type Event } from "@chatwire/gen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectConnectError } from "./support/errors.js";
import { directConversation, send, startTestServer, type TestServer } from "./support/server.js";

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer({ defaultPageSize: 2 });
});
afterAll(() => test.close());

function receipts(events: Event[]) {
  return events.flatMap((event) => (event.kind.case === "receipt" ? [event.kind.value] : []));
}

describe("ConversationService", () => {
  it("returns the existing direct conversation to either user", async () => {
    const alice = await test.as("cs-alice");
    const bob = await test.as("cs-bob");
    const first = await alice.conversations.createConversation({ kind: ConversationKind.DIRECT, memberIds: ["cs-bob"] });
    const second = await bob.conversations.createConversation({ kind: ConversationKind.DIRECT, memberIds: ["cs-alice", "cs-alice"] });
    expect(first.existing).toBe(false);
    expect(second.existing).toBe(true);
    expect(second.conversation?.conversationId).toBe(first.conversation?.conversationId);
  });

  it("retries a group creation with its request id", async () => {
    const alice = await test.as("rq-alice");
    const request = { kind: ConversationKind.GROUP, memberIds: ["rq-bob"], title: "Trip \u{1F3D4}", requestId: "create-1" };
    const first = await alice.conversations.createConversation(request);
    const retry = await alice.conversations.createConversation(request);
    expect(retry.existing).toBe(true);
    expect(retry.conversation?.conversationId).toBe(first.conversation?.conversationId);
    expect(retry.conversation?.title).toBe("Trip \u{1F3D4}");
  });

  it("pages the conversation list with tokens", async () => {
    const alice = await test.as("list-alice");
    for (const other of ["l1", "l2", "l3"]) await directConversation(alice, other);
    const first = await alice.conversations.listConversations({});
    expect(first.conversations).toHaveLength(2);
    expect(first.nextPageToken).not.toBe("");
    const second = await alice.conversations.listConversations({ pageToken: first.nextPageToken });
    expect(second.conversations).toHaveLength(1);
    expect(second.nextPageToken).toBe("");
  });

  it("adds and removes group members and leaves", async () => {
    const alice = await test.as("grp-alice");
    const bob = await test.as("grp-bob");
    const created = await alice.conversations.createConversation({ kind: ConversationKind.GROUP, memberIds: [] });
    const id = created.conversation?.conversationId ?? "";
    const added = await alice.conversations.addMembers({ conversationId: id, userIds: ["grp-bob", "grp-carol"] });
    expect(added.conversation?.members.map((member) => member.userId)).toEqual(["grp-alice", "grp-bob", "grp-carol"]);
    const removed = await bob.conversations.removeMembers({ conversationId: id, userIds: ["grp-carol"] });
    expect(removed.conversation?.members).toHaveLength(2);
    const left = await bob.conversations.removeMembers({ conversationId: id, userIds: ["grp-bob"] });
    expect(left.conversation).toBeUndefined();
    const direct = await directConversation(alice, "grp-dave");
    await expectConnectError(alice.conversations.addMembers({ conversationId: direct, userIds: ["x"] }), Code.FailedPrecondition, ErrorReason.CONVERSATION_KIND);
  });
});

describe("receipts across devices", () => {
  it("reaches the sender and the reader's other device", async () => {
    const alice = await test.as("rc-alice");
    const bobPhone = await test.as("rc-bob");
    const bobLaptop = await test.as("rc-bob", "connect-h1");
    const id = await directConversation(alice, "rc-bob");
    for (const text of ["one", "two", "three"]) await send(alice, id, text);

    const laptopStart = await bobLaptop.chat.sync({ deviceId: "laptop", limit: 100 });
    expect((await bobLaptop.conversations.getConversation({ conversationId: id })).conversation?.unreadCount).toBe(3n);

    const ack = await bobPhone.chat.acknowledge({
      deviceId: "phone",
      cursor: laptopStart.nextCursor,
      marks: [{ conversationId: id, readSeq: 3n }],
    });
    expect(ack.marks).toEqual([expect.objectContaining({ conversationId: id, deliveredSeq: 3n, readSeq: 3n })]);
    const stale = await bobLaptop.chat.acknowledge({ deviceId: "laptop", marks: [{ conversationId: id, deliveredSeq: 1n, readSeq: 1n }] });
    expect(stale.marks[0]).toMatchObject({ deliveredSeq: 3n, readSeq: 3n });

    const laptopUpdate = await bobLaptop.chat.sync({ deviceId: "laptop", cursor: laptopStart.nextCursor, limit: 100 });
    expect(receipts(laptopUpdate.events)).toEqual([expect.objectContaining({ userId: "rc-bob", readSeq: 3n })]);
    expect((await bobLaptop.conversations.getConversation({ conversationId: id })).conversation?.unreadCount).toBe(0n);

    const aliceEvents = (await alice.chat.sync({ deviceId: "a", limit: 100 })).events;
    expect(receipts(aliceEvents)).toEqual([expect.objectContaining({ conversationId: id, userId: "rc-bob", deliveredSeq: 3n, readSeq: 3n })]);
    const conversation = (await alice.conversations.getConversation({ conversationId: id })).conversation;
    expect(conversation?.members.find((member) => member.userId === "rc-bob")?.readSeq).toBe(3n);
    expect(conversation?.lastMessage?.text).toBe("three");
  });
});
