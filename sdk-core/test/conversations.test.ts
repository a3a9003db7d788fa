import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { settle } from "./support/fake-clock.js";
import { makeClient, setup } from "./support/harness.js";

async function started() {
  const context = setup();
  const alice = makeClient(context.server, "alice");
  await alice.client.start();
  await context.clock.advance(10);
  return { ...context, alice };
}

const stored = (client: ReturnType<typeof makeClient>, id: string) =>
  client.storage.transaction("readonly", (tx) => tx.getConversation(id));

describe("Conversation calls", () => {
  it("store a created direct conversation at once", async () => {
    const { alice } = await started();
    const record = await alice.client.createDirectConversation("carol");
    expect(record).toMatchObject({ kind: "direct", members: [{ userId: "alice" }, { userId: "carol" }] });
    expect(await stored(alice, record.conversationId)).toMatchObject({ kind: "direct" });
    expect(alice.events).toContainEqual(expect.objectContaining({ type: "conversation", removed: false }));
    await alice.client.close();
  });

  it("create a group with a request id that makes retries safe", async () => {
    const { alice, server } = await started();
    const record = await alice.client.createGroup({ title: "launch", memberIds: ["bob", "carol"], requestId: "req-1" });
    expect(record.title).toBe("launch");
    expect(record.members.map((member) => member.userId)).toEqual(["alice", "bob", "carol"]);
    const request = server.calls.find((call) => call.method === "CreateConversation")?.request as { requestId: string };
    expect(request.requestId).toBe("req-1");
    await alice.client.close();
  });

  it("reject a title over 256 bytes before calling the server", async () => {
    const { alice, server } = await started();
    await expect(alice.client.createGroup({ title: "é".repeat(129), memberIds: [] })).rejects.toMatchObject({
      code: Code.InvalidArgument,
      message: "title is 258 bytes of UTF-8; the limit is 256 bytes",
    });
    expect(server.count("CreateConversation")).toBe(0);
    await alice.client.close();
  });

  it.each([
    ["that is empty", ""],
    ["of 65 characters", "r".repeat(65)],
    ["with a space", "req 1"],
    ["with a slash", "req/1"],
    ["with a non-ASCII letter", "réq-1"],
    ["with a newline", "req\n1"],
  ])("reject a request id %s before calling the server", async (_, requestId) => {
    const { alice, server } = await started();
    await expect(alice.client.createGroup({ title: "t", memberIds: ["bob"], requestId })).rejects.toMatchObject({
      code: Code.InvalidArgument,
      message:
        `requestId ${JSON.stringify(requestId)} is not a valid request id: use 1 to 64 characters of ` +
        "A-Z, a-z, 0-9, '_', '.', '@', ':' and '-', or leave it unset for a new UUIDv7",
    });
    expect(server.count("CreateConversation")).toBe(0);
    await alice.client.close();
  });

  it("accept every request id character the server accepts", async () => {
    const { alice, server } = await started();
    for (const requestId of ["a", "AZaz09_.@:-", "r".repeat(64)]) {
      await alice.client.createGroup({ title: "t", memberIds: ["bob"], requestId });
    }
    const sent = server.calls
      .filter((call) => call.method === "CreateConversation")
      .map((call) => (call.request as { requestId: string }).requestId);
    expect(sent).toEqual(["a", "AZaz09_.@:-", "r".repeat(64)]);
    await alice.client.close();
  });

  it("add and remove members and mark a left conversation removed", async () => {
    const { alice, conversationId } = await started();
    const added = await alice.client.addMembers(conversationId, ["carol"]);
    expect(added.members.map((member) => member.userId)).toEqual(["alice", "bob", "carol"]);
    const left = await alice.client.removeMembers(conversationId, ["alice"]);
    expect(left?.removed).toBe(true);
    expect((await stored(alice, conversationId))?.removed).toBe(true);
    await alice.client.close();
  });

  it("list conversations and keep local unread counts of known ones", async () => {
    const { alice, server, conversationId, clock } = await started();
    server.post("bob", conversationId, "one");
    await clock.advance(10);
    const other = server.createConversation(["alice", "dave"]).id;
    alice.client.setNetworkAvailable(false);
    server.post("dave", other, "unseen");

    const records = await alice.client.listConversations();

    expect(records.map((record) => record.conversationId).sort()).toEqual([conversationId, other].sort());
    expect((await stored(alice, other))?.unreadCount).toBe(1);
    expect((await stored(alice, conversationId))?.unreadCount).toBe(1);
    await settle();
    await alice.client.close();
  });

  it("surface server errors as ChatError", async () => {
    const { alice } = await started();
    await expect(alice.client.addMembers("conv-404", ["carol"])).rejects.toMatchObject({
      name: "ChatError",
      code: Code.NotFound,
      reasonName: "ERROR_REASON_CONVERSATION_NOT_FOUND",
    });
    await alice.client.close();
  });
});

describe("Conversation events", () => {
  it("mark a conversation removed and keep its messages", async () => {
    const { alice, server, conversationId, clock } = await started();
    server.post("bob", conversationId, "before removal");
    await clock.advance(10);
    const bob = makeClient(server, "bob");
    await bob.client.start();
    await clock.advance(10);

    await bob.client.removeMembers(conversationId, ["alice"]);
    await clock.advance(10);

    const record = await stored(alice, conversationId);
    expect(record?.removed).toBe(true);
    const messages = await alice.storage.transaction("readonly", (tx) => tx.getMessages(conversationId, { limit: 10 }));
    expect(messages.map((message) => message.text)).toEqual(["before removal"]);
    expect(alice.events).toContainEqual(expect.objectContaining({ type: "conversation", removed: true }));
    await expect(alice.client.send(conversationId, "after removal")).rejects.toMatchObject({ code: Code.FailedPrecondition });
    await alice.client.close();
    await bob.client.close();
  });
});
