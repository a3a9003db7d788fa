import { Code } from "@connectrpc/connect";
import { ConversationKind, ErrorReason } from "@chatwire/gen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectConnectError } from "./support/errors.js";
import { directConversation, send, startTestServer, type TestServer, type UserClients } from "./support/server.js";

let test: TestServer;
let alice: UserClients;
let mallory: UserClients;
let conversationId: string;
let groupId: string;
const secret = "the launch date is friday";

beforeAll(async () => {
  test = await startTestServer({ heartbeatMs: 100 });
  alice = await test.as("alice");
  mallory = await test.as("mallory", "grpc-web");
  conversationId = await directConversation(alice, "bob");
  const group = await alice.conversations.createConversation({ kind: ConversationKind.GROUP, memberIds: ["bob"], title: "plans" });
  groupId = group.conversation?.conversationId ?? "";
  await send(alice, conversationId, secret);
  await send(alice, groupId, secret);
});
afterAll(() => test.close());

describe("a non-member", () => {
  it("cannot read, send or change a conversation", async () => {
    const unknown = await expectConnectError(mallory.conversations.getConversation({ conversationId: "01890a5d-ac96-774b-8cb7-c2e1a1b3c4d5" }), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
    for (const id of [conversationId, groupId]) {
      const calls = [
        mallory.conversations.getConversation({ conversationId: id }),
        mallory.chat.getHistory({ conversationId: id }),
        send(mallory, id, "let me in"),
        mallory.chat.acknowledge({ deviceId: "d", marks: [{ conversationId: id, readSeq: 1n }] }),
        mallory.conversations.addMembers({ conversationId: id, userIds: ["mallory"] }),
        mallory.conversations.removeMembers({ conversationId: id, userIds: ["alice"] }),
      ];
      for (const call of calls) {
        const { error } = await expectConnectError(call, Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
        expect(error.rawMessage).toBe(unknown.error.rawMessage);
        expect(error.rawMessage).not.toContain(id);
      }
    }
  });

  it("sees nothing of it in sync, subscribe or the conversation list", async () => {
    const page = await mallory.chat.sync({ deviceId: "d" });
    expect(page.events).toEqual([]);
    const list = await mallory.conversations.listConversations({});
    expect(list.conversations).toEqual([]);

    const abort = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const frame of mallory.chat.subscribe({ deviceId: "d" }, { signal: abort.signal })) {
        seen.push(frame.kind.case ?? "");
        if (seen.length === 1) await send(alice, conversationId, `${secret} (live)`);
        if (seen.filter((kind) => kind === "heartbeat").length >= 3) abort.abort();
      }
    })().catch(() => {});
    await reading;
    expect(seen.every((kind) => kind === "heartbeat")).toBe(true);
  });

  it("cannot reach a conversation through a member's cursor", async () => {
    const bob = await test.as("bob");
    const bobPage = await bob.chat.sync({ deviceId: "d", limit: 1 });
    // Mallory's log is empty, so a cursor at bob's position 1 points past it.
    await expectConnectError(mallory.chat.sync({ deviceId: "d", cursor: bobPage.nextCursor }), Code.InvalidArgument, ErrorReason.CURSOR_INVALID);
  });

  it("loses access when removed from a group", async () => {
    const carol = await test.as("carol");
    const group = await carol.conversations.createConversation({ kind: ConversationKind.GROUP, memberIds: ["mallory"] });
    const id = group.conversation?.conversationId ?? "";
    await send(carol, id, "welcome");
    await carol.conversations.removeMembers({ conversationId: id, userIds: ["mallory"] });
    await send(carol, id, "after removal");
    await expectConnectError(mallory.chat.getHistory({ conversationId: id }), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
    const events = (await mallory.chat.sync({ deviceId: "d" })).events;
    const texts = events.flatMap((event) => (event.kind.case === "message" ? [event.kind.value.message?.text] : []));
    expect(texts).toEqual(["welcome"]);
    const last = events.at(-1);
    expect(last?.kind.case).toBe("conversation");
    expect(last?.kind.case === "conversation" ? last.kind.value.removed : undefined).toBe(true);
  });
});
