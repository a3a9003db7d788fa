import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";
import { describe, expect, it } from "vitest";
import type { ConversationSnapshot, ConversationSummary } from "../src/view/views.js";
import { settle } from "./support/fake-clock.js";
import { makeClient, setup } from "./support/harness.js";

function collect<T>() {
  const emitted: T[] = [];
  return { emitted, listener: (value: T) => void emitted.push(value), last: () => emitted.at(-1) };
}

describe("Conversation view", () => {
  it("shows an own message as pending, then sent, delivered and read", async () => {
    const { clock, server, conversationId } = setup();
    const alice = makeClient(server, "alice", { online: false });
    const bob = makeClient(server, "bob");
    await alice.client.start();
    await bob.client.start();
    const view = collect<ConversationSnapshot>();
    alice.client.watchConversation(conversationId, view.listener);

    const { clientMessageId } = await alice.client.send(conversationId, "status?");
    await settle();
    expect(view.last()?.items).toEqual([
      expect.objectContaining({ key: clientMessageId, status: "pending", seq: undefined, own: true, text: "status?" }),
    ]);

    const release = server.pause("Acknowledge");
    alice.client.setNetworkAvailable(true);
    await clock.advance(10);
    expect(view.last()?.items).toEqual([expect.objectContaining({ key: clientMessageId, status: "sent", seq: 1 })]);

    release();
    await clock.advance(1_100);
    expect(view.last()?.items[0]?.status).toBe("delivered");

    await bob.client.markRead(conversationId);
    await clock.advance(10);
    expect(view.last()?.items[0]?.status).toBe("read");
    expect(new Set(view.emitted.flatMap((snapshot) => snapshot.items.map((item) => item.key)))).toEqual(new Set([clientMessageId]));
    await alice.client.close();
    await bob.client.close();
  });

  it("shows a rejected message as failed with the reason", async () => {
    const { clock, server, conversationId } = setup();
    const alice = makeClient(server, "alice");
    await alice.client.start();
    await clock.advance(10);
    server.failNext("SendMessage", 1, Code.InvalidArgument, { reason: ErrorReason.FIELD_INVALID });
    const view = collect<ConversationSnapshot>();
    alice.client.watchConversation(conversationId, view.listener);

    await alice.client.send(conversationId, "bad");
    await alice.client.send(conversationId, "good");
    await clock.advance(10);

    expect(view.last()?.items.map((item) => [item.text, item.status])).toEqual([
      ["good", "sent"],
      ["bad", "failed"],
    ]);
    expect(view.last()?.items[1]?.failure).toMatchObject({ code: "invalid_argument", reason: "ERROR_REASON_FIELD_INVALID" });
    await alice.client.close();
  });

  it("lists confirmed messages by seq, then pending ones in send order", async () => {
    const { clock, server, conversationId } = setup();
    server.post("bob", conversationId, "b1");
    server.post("bob", conversationId, "b2");
    const alice = makeClient(server, "alice");
    await alice.client.start();
    await clock.advance(10);
    alice.client.setNetworkAvailable(false);
    await alice.client.send(conversationId, "p1");
    await alice.client.send(conversationId, "p2");
    const view = collect<ConversationSnapshot>();
    alice.client.watchConversation(conversationId, view.listener);
    await settle();

    expect(view.last()?.items.map((item) => [item.text, item.status, item.own])).toEqual([
      ["b1", "sent", false],
      ["b2", "sent", false],
      ["p1", "pending", true],
      ["p2", "pending", true],
    ]);
    expect(Object.isFrozen(view.last())).toBe(true);
    expect(Object.isFrozen(view.last()?.items)).toBe(true);
    await alice.client.close();
  });

  it("coalesces changes committed together into one snapshot", async () => {
    const { clock, server, conversationId } = setup();
    const bob = makeClient(server, "bob");
    await bob.client.start();
    await clock.advance(10);
    const view = collect<ConversationSnapshot>();
    bob.client.watchConversation(conversationId, view.listener);
    await settle();
    const before = view.emitted.length;

    for (let i = 0; i < 20; i++) server.post("alice", conversationId, `m${i}`);
    await clock.advance(10);

    expect(view.last()?.items).toHaveLength(20);
    expect(view.emitted.length - before).toBeLessThan(5);
    await bob.client.close();
  });

  it("stops calling the listener after unsubscribe", async () => {
    const { clock, server, conversationId } = setup();
    const bob = makeClient(server, "bob");
    await bob.client.start();
    await clock.advance(10);
    const view = collect<ConversationSnapshot>();
    const unsubscribe = bob.client.watchConversation(conversationId, view.listener);
    await settle();
    unsubscribe();
    const count = view.emitted.length;
    server.post("alice", conversationId, "unseen");
    await clock.advance(10);
    expect(view.emitted.length).toBe(count);
    await bob.client.close();
  });

  describe("with more history than the limit", () => {
    it("reports older messages and loads them from storage and then the server", async () => {
      const { clock, server, conversationId } = setup();
      for (let i = 1; i <= 30; i++) server.post("alice", conversationId, `m${i}`);
      const bob = makeClient(server, "bob", { pageSize: 10 });
      server.expireLog("bob");
      await bob.client.start();
      await clock.advance(10);
      await bob.client.listConversations();
      const view = collect<ConversationSnapshot>();
      bob.client.watchConversation(conversationId, view.listener, { limit: 5 });
      await settle();
      // The first sync rebuilt the state: storage has the newest history page, 21..30.
      expect(view.last()?.items.map((item) => item.seq)).toEqual([26, 27, 28, 29, 30]);
      expect(view.last()?.hasOlder).toBe(true);
      expect(server.count("GetHistory")).toBe(1);

      await bob.client.loadOlder(conversationId);
      await settle();
      // The window grew from 5 to 15; storage now has 11..30 (two pages of history).
      expect(view.last()?.items.map((item) => item.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
      expect(view.last()?.hasOlder).toBe(true);
      expect(server.count("GetHistory")).toBe(2);

      await bob.client.loadOlder(conversationId);
      await bob.client.loadOlder(conversationId);
      await settle();
      expect(view.last()?.items).toHaveLength(30);
      expect(view.last()?.hasOlder).toBe(false);
      await bob.client.close();
    });
  });
});

describe("Conversation list view", () => {
  it("shows each conversation with its unread count and last message", async () => {
    const { clock, server, conversationId } = setup();
    const other = server.createConversation(["bob", "carol"], undefined, "team").id;
    server.post("alice", conversationId, "from alice");
    await clock.advance(1_000);
    server.post("carol", other, "from carol 1");
    server.post("carol", other, "from carol 2");
    const bob = makeClient(server, "bob");
    await bob.client.start();
    await clock.advance(10);
    const list = collect<readonly ConversationSummary[]>();
    bob.client.watchConversations(list.listener);
    await settle();

    expect(list.last()?.map((row) => [row.conversationId, row.unreadCount, row.lastMessage?.text])).toEqual([
      [other, 2, "from carol 2"],
      [conversationId, 1, "from alice"],
    ]);

    await bob.client.markRead(other);
    await settle();
    expect(list.last()?.find((row) => row.conversationId === other)?.unreadCount).toBe(0);
    await bob.client.close();
  });
});

describe("View listeners", () => {
  it("keep receiving snapshots when another listener throws", async () => {
    const { clock, server, conversationId } = setup();
    const bob = makeClient(server, "bob");
    await bob.client.start();
    await clock.advance(10);
    bob.client.watchConversation(conversationId, () => {
      throw new Error("faulty listener");
    });
    const view = collect<ConversationSnapshot>();
    bob.client.watchConversation(conversationId, view.listener);

    server.post("alice", conversationId, "still delivered");
    await clock.advance(10);

    expect(view.last()?.items.map((item) => item.text)).toEqual(["still delivered"]);
    await bob.client.close();
  });
});
