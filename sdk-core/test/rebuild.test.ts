import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { ChatClientOptions } from "../src/options.js";
import { createMemoryStorage } from "../src/storage/memory.js";
import type { ChatStorage } from "../src/storage/types.js";
import { settle, waitFor } from "./support/fake-clock.js";
import { makeClient, setup, storedMessages, storedOutbox } from "./support/harness.js";
import type { FakeClock, FakeServer, TestClient } from "./support/harness.js";

/** Starts bob's client, lets it catch up and takes it offline. */
async function bobOffline(server: FakeServer, clock: FakeClock, overrides: Partial<ChatClientOptions> = {}): Promise<TestClient> {
  const bob = makeClient(server, "bob", overrides);
  await bob.client.start();
  await clock.advance(10);
  bob.client.setNetworkAvailable(false);
  return bob;
}

function readMeta(storage: ChatStorage) {
  return storage.transaction("readonly", async (tx) => ({
    cursor: await tx.getMeta("cursor"),
    position: await tx.getMeta("position"),
    rebuild: await tx.getMeta("rebuild"),
  }));
}

function storedConversation(storage: ChatStorage, conversationId: string) {
  return storage.transaction("readonly", (tx) => tx.getConversation(conversationId));
}

const seqs = (messages: { seq: number | bigint }[]) => messages.map((message) => Number(message.seq));

/** Returns the seqs from `first` to `last`. */
const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, index) => first + index);

/** Returns how many messages of other users `userId` has not read in the conversation, as the server counts. */
function serverUnread(server: FakeServer, conversationId: string, userId: string): number {
  const readSeq = server.member(conversationId, userId)?.readSeq ?? 0;
  return server.messages(conversationId).filter((m) => Number(m.seq) > readSeq && m.senderId !== userId).length;
}

describe("Rebuild after an expired cursor", () => {
  it("brings back a quiet conversation", async () => {
    const { clock, server, conversationId } = setup();
    const quiet = server.createConversation(["bob", "carol"], undefined, "quiet since");
    server.post("carol", quiet.id, "the only message here");
    server.post("alice", conversationId, "one");
    const bob = await bobOffline(server, clock);
    server.post("alice", conversationId, "missed");
    server.expireLog("bob");
    server.post("alice", conversationId, "after the expiry");

    bob.client.setNetworkAvailable(true);
    await clock.advance(100);

    expect(bob.events).toContainEqual({ type: "resync", reason: "ERROR_REASON_CURSOR_EXPIRED" });
    const record = await storedConversation(bob.storage, quiet.id);
    expect(record?.title).toBe("quiet since");
    expect(record?.members.map((member) => member.userId)).toEqual(["bob", "carol"]);
    expect(record?.unreadCount).toBe(1);
    expect((await storedMessages(bob.storage, quiet.id)).map((m) => m.text)).toEqual(["the only message here"]);
    expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(["one", "missed", "after the expiry"]);
    expect(await readMeta(bob.storage)).toEqual({
      cursor: `pos:${server.logEnd("bob")}`,
      position: String(server.logEnd("bob")),
      rebuild: undefined,
    });
    await bob.client.close();
  });

  it("leaves no hole in an active conversation", async () => {
    const { clock, server, conversationId } = setup();
    for (let i = 1; i <= 5; i++) server.post("alice", conversationId, `m${i}`);
    const bob = await bobOffline(server, clock, { pageSize: 10 });
    for (let i = 6; i <= 25; i++) server.post("alice", conversationId, `m${i}`);
    server.expireLog("bob");
    for (let i = 26; i <= 30; i++) server.post("alice", conversationId, `m${i}`);

    bob.client.setNetworkAvailable(true);
    await clock.advance(100);

    // The newest page, contiguous up to the last seq. The five messages stored before the hole are gone.
    expect(seqs(await storedMessages(bob.storage, conversationId))).toEqual(range(21, 30));
    const record = await storedConversation(bob.storage, conversationId);
    expect(record?.lastSeq).toBe(30);
    expect(record?.unreadCount).toBe(30);

    const unwatch = bob.client.watchConversation(conversationId, () => undefined, { limit: 10 });
    await bob.client.loadOlder(conversationId);
    unwatch();
    expect(seqs(await storedMessages(bob.storage, conversationId))).toEqual(range(11, 30));
    await bob.client.close();
  });

  it("stores every page of the conversation list", async () => {
    const { clock, server, conversationId } = setup({ listPageSize: 2 });
    const groups = Array.from({ length: 4 }, (_, index) => server.createConversation(["bob", "carol"], undefined, `group ${index}`).id);
    for (const id of groups) server.post("carol", id, `hello in ${id}`);
    const bob = await bobOffline(server, clock);
    server.post("alice", conversationId, "missed");
    server.expireLog("bob");

    bob.client.setNetworkAvailable(true);
    await clock.advance(100);

    expect(server.count("ListConversations")).toBe(3);
    for (const id of [conversationId, ...groups]) {
      expect(await storedConversation(bob.storage, id)).toBeDefined();
    }
    for (const id of groups) {
      expect((await storedMessages(bob.storage, id)).map((m) => m.text)).toEqual([`hello in ${id}`]);
    }
    await bob.client.close();
  });

  it("keeps queued and failed outbox entries", async () => {
    const { clock, server, conversationId } = setup();
    server.post("alice", conversationId, "one");
    const bob = makeClient(server, "bob");
    await bob.client.start();
    await clock.advance(10);
    server.failNext("SendMessage", 1, Code.PermissionDenied);
    const failed = await bob.client.send(conversationId, "rejected for good");
    await clock.advance(10);
    bob.client.setNetworkAvailable(false);
    const queued = await bob.client.send(conversationId, "queued while offline");
    server.expireLog("bob");
    server.post("alice", conversationId, "two");
    const releaseSends = server.pause("SendMessage");

    bob.client.setNetworkAvailable(true);
    await clock.advance(100);

    expect((await readMeta(bob.storage)).rebuild).toBeUndefined();
    const outbox = await storedOutbox(bob.storage);
    expect(outbox.map((entry) => [entry.clientMessageId, entry.state])).toEqual([
      [failed.clientMessageId, "failed"],
      [queued.clientMessageId, "queued"],
    ]);
    expect(outbox[0]?.failure?.code).toBe("permission_denied");

    releaseSends();
    await clock.advance(100);
    expect(server.messages(conversationId).filter((m) => m.clientMessageId === queued.clientMessageId)).toHaveLength(1);
    expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(["one", "two", "queued while offline"]);
    expect((await storedOutbox(bob.storage)).map((entry) => entry.clientMessageId)).toEqual([failed.clientMessageId]);
    await bob.client.close();
  });

  it("applies a pending read mark", async () => {
    const { clock, server, conversationId } = setup();
    for (let i = 1; i <= 5; i++) server.post("alice", conversationId, `m${i}`);
    const bob = await bobOffline(server, clock);
    await bob.client.markRead(conversationId, 3);
    server.post("alice", conversationId, "m6");
    server.expireLog("bob");
    const releaseAcknowledge = server.pause("Acknowledge");

    bob.client.setNetworkAvailable(true);
    await clock.advance(100);

    expect(bob.events).toContainEqual({ type: "resync", reason: "ERROR_REASON_CURSOR_EXPIRED" });
    const record = await storedConversation(bob.storage, conversationId);
    expect(record?.members.find((member) => member.userId === "bob")?.readSeq).toBe(3);
    expect(record?.unreadCount).toBe(3);
    releaseAcknowledge();
    await clock.advance(100);
    expect(server.member(conversationId, "bob")?.readSeq).toBe(3);
    expect((await storedConversation(bob.storage, conversationId))?.unreadCount).toBe(3);
    await bob.client.close();
  });

  describe("with events committed during the rebuild", () => {
    it("loses none and counts unread once", async () => {
      const { clock, server, conversationId } = setup();
      for (let i = 1; i <= 3; i++) server.post("alice", conversationId, `m${i}`);
      const bob = await bobOffline(server, clock, { pageSize: 10 });
      server.post("alice", conversationId, "m4");
      server.expireLog("bob");
      const releaseList = server.pause("ListConversations");
      const releaseHistory = server.pause("GetHistory");

      bob.client.setNetworkAvailable(true);
      await waitFor(() => server.count("ListConversations") === 1, "ListConversations");
      // After the rebuild took its cursor and before the list: in the list, and again in the events after the cursor.
      server.post("alice", conversationId, "m5");
      server.addMember(conversationId, "carol");
      server.acknowledgeAs("alice", conversationId, 5, 5);
      releaseList();
      await waitFor(() => server.count("GetHistory") === 1, "GetHistory");
      // After the list and before the history page: above the listed last seq.
      server.post("alice", conversationId, "m6");
      server.post("carol", conversationId, "m7");
      releaseHistory();
      await clock.advance(100);
      // After the rebuild.
      server.post("carol", conversationId, "m8");
      await clock.advance(1_000);

      expect((await readMeta(bob.storage)).position).toBe(String(server.logEnd("bob")));
      expect(seqs(await storedMessages(bob.storage, conversationId))).toEqual(range(1, 8));
      const record = await storedConversation(bob.storage, conversationId);
      expect(record?.members.map((member) => member.userId)).toEqual(["alice", "bob", "carol"]);
      expect(record?.members.find((member) => member.userId === "alice")?.readSeq).toBe(5);
      expect(record?.unreadCount).toBe(serverUnread(server, conversationId, "bob"));
      expect(record?.unreadCount).toBe(8);
      const announced = bob.events.flatMap((event) => (event.type === "message" ? [event.message.seq] : []));
      expect(announced.filter((seq) => seq > 3)).toEqual([6, 7, 8]);
      await bob.client.close();
    });

    it("rebuilds again when its cursor expires", async () => {
      const { clock, server, conversationId } = setup();
      server.post("alice", conversationId, "m1");
      const bob = await bobOffline(server, clock, { backoffBaseMs: 100, backoffCapMs: 1_000 });
      server.post("alice", conversationId, "m2");
      server.expireLog("bob");
      server.post("alice", conversationId, "m3");
      const releaseHistory = server.pause("GetHistory");

      bob.client.setNetworkAvailable(true);
      await waitFor(() => server.count("GetHistory") === 1, "GetHistory");
      // The events after the cursor the rebuild took are deleted before it stores that cursor.
      server.post("alice", conversationId, "m4");
      server.expireLog("bob");
      releaseHistory();
      await clock.advance(5_000);

      expect(bob.events.filter((event) => event.type === "resync")).toHaveLength(2);
      expect(seqs(await storedMessages(bob.storage, conversationId))).toEqual([1, 2, 3, 4]);
      expect(bob.client.connectionState.kind).toBe("connected");
      await bob.client.close();
    });
  });

  describe("when the app stops mid-rebuild", () => {
    it("stays marked and starts over", async () => {
      const { clock, server, conversationId } = setup();
      const busy = server.createConversation(["bob", "carol"]).id;
      for (let i = 1; i <= 5; i++) server.post("carol", busy, `b${i}`);
      server.post("alice", conversationId, "a1");
      const storage = createMemoryStorage();
      const first = await bobOffline(server, clock, { storage, pageSize: 5 });
      for (let i = 6; i <= 10; i++) server.post("carol", busy, `b${i}`);
      server.expireLog("bob");
      // The list shows the busy group first, so the stop falls after its history page and before the other's.
      const releaseFirst = server.pause("GetHistory");

      first.client.setNetworkAvailable(true);
      await waitFor(() => server.count("GetHistory") === 1, "first GetHistory");
      const releaseSecond = server.pause("GetHistory");
      releaseFirst();
      await waitFor(() => server.count("GetHistory") === 2, "second GetHistory");
      await first.client.close();
      releaseSecond();
      await settle();

      expect(seqs(await storedMessages(storage, busy))).toEqual(range(6, 10));
      expect(await readMeta(storage)).toEqual({ cursor: undefined, position: undefined, rebuild: "ERROR_REASON_CURSOR_EXPIRED" });

      // More than a history page arrives while the app is stopped, so the page stored before would not join the new one.
      for (let i = 11; i <= 20; i++) server.post("carol", busy, `b${i}`);
      const second = makeClient(server, "bob", { storage, pageSize: 5 });
      await second.client.start();
      await clock.advance(100);

      expect(second.events).toContainEqual({ type: "resync", reason: "ERROR_REASON_CURSOR_EXPIRED" });
      expect(seqs(await storedMessages(storage, busy))).toEqual(range(16, 20));
      expect((await storedMessages(storage, conversationId)).map((m) => m.text)).toEqual(["a1"]);
      // Sync(from_end) names no position, so none is stored until the next event.
      expect(await readMeta(storage)).toEqual({ cursor: `pos:${server.logEnd("bob")}`, position: undefined, rebuild: undefined });
      await second.client.close();
    });
  });

  describe("after a failed call", () => {
    it("goes on from the step that failed", async () => {
      const { clock, server, conversationId } = setup();
      const other = server.createConversation(["bob", "carol"]).id;
      server.post("carol", other, "c1");
      server.post("alice", conversationId, "a1");
      const bob = await bobOffline(server, clock, { backoffBaseMs: 100, backoffCapMs: 1_000 });
      server.post("alice", conversationId, "a2");
      server.expireLog("bob");
      server.failNext("GetHistory", 1, Code.Unavailable, undefined, (request: { conversationId: string }) => request.conversationId === other);

      bob.client.setNetworkAvailable(true);
      await clock.advance(5_000);

      expect(bob.events.filter((event) => event.type === "resync")).toHaveLength(1);
      expect(server.count("ListConversations")).toBe(1);
      const histories = server.calls
        .filter((call) => call.method === "GetHistory")
        .map((call) => (call.request as { conversationId: string }).conversationId);
      expect(histories.filter((id) => id === conversationId)).toHaveLength(1);
      expect(histories.filter((id) => id === other)).toHaveLength(2);
      expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(["a1", "a2"]);
      expect((await storedMessages(bob.storage, other)).map((m) => m.text)).toEqual(["c1"]);
      expect((await readMeta(bob.storage)).rebuild).toBeUndefined();
      await bob.client.close();
    });
  });
});
