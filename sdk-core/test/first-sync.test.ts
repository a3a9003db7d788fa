import { describe, expect, it } from "vitest";
import type { SyncRequest } from "@chatwire/gen";
import { createMemoryStorage } from "../src/storage/memory.js";
import type { ChatStorage } from "../src/storage/types.js";
import { makeClient, recordingLogger, setup, storedMessages } from "./support/harness.js";
import type { FakeServer } from "./support/harness.js";

function storedConversationIds(storage: ChatStorage): Promise<string[]> {
  return storage.transaction("readonly", async (tx) => (await tx.listConversations()).map((record) => record.conversationId));
}

function syncRequests(server: FakeServer, userId: string): SyncRequest[] {
  return server.calls.filter((call) => call.method === "Sync" && call.userId === userId).map((call) => call.request as SyncRequest);
}

describe("First sync on empty storage", () => {
  it("shows conversations whose events were pruned", async () => {
    const { clock, server, conversationId } = setup();
    const quiet = server.createConversation(["bob", "carol"], undefined, "pruned long ago");
    server.post("carol", quiet.id, "c1");
    server.post("carol", quiet.id, "c2");
    for (let i = 1; i <= 3; i++) server.post("alice", conversationId, `a${i}`);
    server.expireLog("bob");
    server.post("alice", conversationId, "a4");

    const bob = makeClient(server, "bob");
    await bob.client.start();
    await clock.advance(100);

    expect((await storedConversationIds(bob.storage)).sort()).toEqual([conversationId, quiet.id].sort());
    expect((await storedMessages(bob.storage, quiet.id)).map((m) => m.text)).toEqual(["c1", "c2"]);
    expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(["a1", "a2", "a3", "a4"]);
    const quietRecord = await bob.storage.transaction("readonly", (tx) => tx.getConversation(quiet.id));
    expect(quietRecord?.title).toBe("pruned long ago");
    expect(quietRecord?.unreadCount).toBe(2);
    expect(bob.events.some((event) => event.type === "resync")).toBe(false);
    expect(await bob.storage.transaction("readonly", (tx) => tx.getMeta("rebuild"))).toBeUndefined();
    expect(bob.client.connectionState.kind).toBe("connected");
    await bob.client.close();
  });

  it("takes the end cursor with from_end", async () => {
    const { clock, server, conversationId } = setup({ maxPageSize: 5 });
    for (let i = 1; i <= 40; i++) server.post("alice", conversationId, `m${i}`);
    server.expireLog("bob");
    for (let i = 41; i <= 60; i++) server.post("alice", conversationId, `m${i}`);

    const bob = makeClient(server, "bob");
    await bob.client.start();
    await clock.advance(100);

    const requests = syncRequests(server, "bob");
    // The first page from the empty cursor, then one from_end call; the rest continue from the end cursor.
    expect(requests[0]).toMatchObject({ cursor: "", fromEnd: false });
    expect(requests[1]).toMatchObject({ cursor: "", fromEnd: true });
    expect(requests.slice(2).every((request) => request.cursor !== "" && !request.fromEnd)).toBe(true);
    expect(requests.length).toBeLessThan(6);
    expect(await bob.storage.transaction("readonly", (tx) => tx.getMeta("cursor"))).not.toBeUndefined();
    expect((await storedMessages(bob.storage, conversationId)).at(-1)?.text).toBe("m60");
    await bob.client.close();
  });

  it("pages to the end on a server without from_end", async () => {
    const { clock, server, conversationId } = setup({ maxPageSize: 5, ignoreFromEnd: true });
    const quiet = server.createConversation(["bob", "carol"]);
    server.post("carol", quiet.id, "quiet");
    server.expireLog("bob");
    for (let i = 1; i <= 12; i++) server.post("alice", conversationId, `m${i}`);
    const logger = recordingLogger();

    const bob = makeClient(server, "bob", { logger });
    await bob.client.start();
    await clock.advance(100);

    const requests = syncRequests(server, "bob");
    const fromEnd = requests.findIndex((request) => request.fromEnd);
    expect(fromEnd).toBe(1);
    // Positions 4..15 remain, in pages of 5: the ignored from_end call returned 4..8, two more calls reach the end.
    expect(requests.slice(fromEnd + 1, fromEnd + 3).map((request) => request.cursor)).toEqual(["pos:8", "pos:13"]);
    expect(logger.lines.some((line) => line.message.includes("ignored Sync from_end"))).toBe(true);
    expect((await storedMessages(bob.storage, quiet.id)).map((m) => m.text)).toEqual(["quiet"]);
    // The newest history page, limited to the server's max_page_size of 5.
    expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(["m8", "m9", "m10", "m11", "m12"]);
    await bob.client.close();
  });

  it("applies a complete log without a rebuild", async () => {
    const { clock, server, conversationId } = setup();
    for (let i = 1; i <= 3; i++) server.post("alice", conversationId, `m${i}`);

    const bob = makeClient(server, "bob");
    await bob.client.start();
    await clock.advance(100);

    expect(server.count("ListConversations")).toBe(0);
    expect(server.count("GetHistory")).toBe(0);
    expect(syncRequests(server, "bob").some((request) => request.fromEnd)).toBe(false);
    // The page read to decide is applied, not requested twice.
    expect(syncRequests(server, "bob").filter((request) => request.cursor === "")).toHaveLength(1);
    expect(bob.events.filter((event) => event.type === "message")).toHaveLength(3);
    await bob.client.close();
  });

  it("rebuilds an empty log", async () => {
    const { clock, server } = setup();
    const storage = createMemoryStorage();
    const dave = makeClient(server, "dave", { storage });
    await dave.client.start();
    await clock.advance(100);

    expect(server.count("ListConversations")).toBe(1);
    expect(await storage.transaction("readonly", (tx) => tx.getMeta("cursor"))).toBe("pos:0");

    const id = server.createConversation(["alice", "dave"]).id;
    server.post("alice", id, "hello dave");
    await clock.advance(100);
    expect((await storedMessages(storage, id)).map((m) => m.text)).toEqual(["hello dave"]);
    expect(server.count("ListConversations")).toBe(1);
    await dave.client.close();
  });
});
