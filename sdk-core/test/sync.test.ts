import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { ErrorReason, EventSchema } from "@chatwire/gen";
import type { Event } from "@chatwire/gen";
import { describe, expect, it } from "vitest";
import { createMemoryStorage } from "../src/storage/memory.js";
import type { ChatStorage } from "../src/storage/types.js";
import { applyEventPage } from "../src/sync/apply-events.js";
import { settle, waitFor } from "./support/fake-clock.js";
import { makeClient, recordingLogger, setup, storedMessages, storedOutbox } from "./support/harness.js";

/** Everything sync writes, for comparing two storages. */
async function syncedState(storage: ChatStorage) {
  return storage.transaction("readonly", async (tx) => {
    const conversations = await tx.listConversations();
    const messages = [];
    for (const conversation of conversations) messages.push(...(await tx.getMessages(conversation.conversationId, { limit: 1e6 })));
    return { cursor: await tx.getMeta("cursor"), position: await tx.getMeta("position"), conversations, messages };
  });
}

/** Wraps a storage so that its `failOn`-th read-write transaction throws after its writes, as a crash before commit does. */
function crashingStorage(inner: ChatStorage, failOn: number): ChatStorage & { crashed: boolean } {
  let count = 0;
  const storage = {
    crashed: false,
    transaction: <T>(mode: "readonly" | "readwrite", run: Parameters<ChatStorage["transaction"]>[1]) =>
      inner.transaction(mode, async (tx) => {
        const value = (await run(tx)) as T;
        if (mode === "readwrite" && ++count === failOn) {
          storage.crashed = true;
          throw new Error("simulated crash before commit");
        }
        return value;
      }) as Promise<T>,
    close: () => inner.close(),
  };
  return storage;
}

function messageEvent(position: number, seq: number, senderId = "bob"): Event {
  return create(EventSchema, {
    position: BigInt(position),
    kind: {
      case: "message",
      value: {
        message: {
          conversationId: "c1",
          seq: BigInt(seq),
          messageId: `m${seq}`,
          senderId,
          clientMessageId: `0190f000-0000-7000-8000-${String(seq).padStart(12, "0")}`,
          text: `text ${seq}`,
          createdAt: timestampFromMs(1_000 * seq),
        },
      },
    },
  });
}

describe("Sync", () => {
  describe("catching up after being offline", () => {
    it("pages through Sync and ends with every message in server order", async () => {
      const { clock, server, conversationId } = setup();
      const others = [server.createConversation(["alice", "bob", "carol"]).id, server.createConversation(["bob", "dave"]).id];
      for (let i = 0; i < 90; i++) {
        server.post("alice", conversationId, `a${i}`);
        server.post("carol", others[0]!, `c${i}`);
        server.post("dave", others[1]!, `d${i}`);
      }
      const bob = makeClient(server, "bob", { catchUpPageSize: 25 });
      await bob.client.start();
      await clock.advance(10);

      for (const id of [conversationId, ...others]) {
        const stored = await storedMessages(bob.storage, id);
        expect(stored.map((m) => m.text)).toEqual(server.messages(id).map((m) => m.text));
        expect(stored.map((m) => m.seq)).toEqual(stored.map((_, index) => index + 1));
      }
      const syncs = server.calls.filter((call) => call.method === "Sync");
      expect(syncs.length).toBeGreaterThanOrEqual(Math.ceil(server.logEnd("bob") / 25));
      for (const call of syncs) expect((call.request as { limit: number }).limit).toBe(25);
      expect((await syncedState(bob.storage)).position).toBe(String(server.logEnd("bob")));
      await bob.client.close();
    });

    it("asks for the server's max page size by default", async () => {
      const { clock, server, conversationId } = setup({ maxPageSize: 300 });
      for (let i = 0; i < 700; i++) server.post("alice", conversationId, `m${i}`);
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);

      const limits = server.calls.filter((call) => call.method === "Sync").map((call) => (call.request as { limit: number }).limit);
      expect(limits).toEqual([300, 300, 300]);
      expect(await storedMessages(bob.storage, conversationId)).toHaveLength(700);
      await bob.client.close();
    });

    it("recovers from a crash between pages", async () => {
      const { clock, server, conversationId } = setup();
      for (let i = 0; i < 60; i++) server.post("alice", conversationId, `m${i}`);

      const clean = makeClient(server, "bob", { catchUpPageSize: 10 });
      await clean.client.start();
      await clock.advance(10);
      await clean.client.close();

      const inner = createMemoryStorage();
      // Transaction 1 is start(); 2 and 3 apply pages; the 4th (a page) crashes.
      const crashing = crashingStorage(inner, 4);
      const first = makeClient(server, "bob", { catchUpPageSize: 10, storage: crashing });
      await first.client.start();
      await waitFor(() => crashing.crashed, "the crash");
      await first.client.close();
      const partial = await syncedState(inner);
      expect(partial.messages.length).toBeGreaterThan(0);
      expect(partial.messages.length).toBeLessThan(60);

      const second = makeClient(server, "bob", { catchUpPageSize: 10, storage: inner });
      await second.client.start();
      await clock.advance(10);

      const recovered = await syncedState(inner);
      const expected = await syncedState(clean.storage);
      expect(recovered.messages).toEqual(expected.messages);
      expect(recovered.position).toEqual(expected.position);
      expect(recovered.conversations.map(({ unreadCount, lastSeq }) => ({ unreadCount, lastSeq }))).toEqual(
        expected.conversations.map(({ unreadCount, lastSeq }) => ({ unreadCount, lastSeq })),
      );
      await second.client.close();
    });
  });

  describe("when a page skips a position", () => {
    it("applies nothing from it and syncs again from the stored cursor", async () => {
      const { clock, server, conversationId } = setup();
      for (let i = 0; i < 5; i++) server.post("alice", conversationId, `m${i}`);
      const logger = recordingLogger();
      const bob = makeClient(server, "bob", { logger });
      await bob.client.start();
      await clock.advance(10);
      server.dropNextEvent("bob");

      server.post("alice", conversationId, "after the gap 1");
      server.post("alice", conversationId, "after the gap 2");
      await clock.advance(2_000);

      expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(
        server.messages(conversationId).map((m) => m.text),
      );
      expect(logger.lines.some((line) => line.message.startsWith("event log gap"))).toBe(true);
      expect(server.count("Subscribe")).toBeGreaterThanOrEqual(2);
      await bob.client.close();
    });

    it("reports the expected and received positions", async () => {
      const storage = createMemoryStorage();
      await storage.transaction("readwrite", (tx) => applyEventPage(tx, [messageEvent(1, 1)], "c-1", "alice"));
      const page = await storage.transaction("readwrite", (tx) => applyEventPage(tx, [messageEvent(3, 3)], "c-3", "alice"));

      expect(page.gap).toEqual({ expectedPosition: 2, receivedPosition: 3 });
      expect(await storage.transaction("readonly", (tx) => tx.getMeta("cursor"))).toBe("c-1");
      expect(await storage.transaction("readonly", (tx) => tx.getMessages("c1", { limit: 10 }))).toHaveLength(1);
    });
  });

  describe("when events repeat", () => {
    it("skips events at or below the stored position", async () => {
      const storage = createMemoryStorage();
      const first = await storage.transaction("readwrite", (tx) =>
        applyEventPage(tx, [messageEvent(1, 1), messageEvent(2, 2), messageEvent(3, 3)], "c-3", "alice"),
      );
      const second = await storage.transaction("readwrite", (tx) =>
        applyEventPage(tx, [messageEvent(2, 2), messageEvent(3, 3), messageEvent(4, 4)], "c-4", "alice"),
      );
      const replay = await storage.transaction("readwrite", (tx) =>
        applyEventPage(tx, [messageEvent(1, 1), messageEvent(2, 2)], "c-2", "alice"),
      );

      expect(first.events).toHaveLength(3);
      expect(second.events.map((event) => event.type === "message" && event.message.seq)).toEqual([4]);
      expect(replay.cursorAdvanced).toBe(false);
      const state = await syncedState(storage);
      expect(state.cursor).toBe("c-4");
      expect(state.position).toBe("4");
      expect(state.conversations[0]?.unreadCount).toBe(4);
      expect(state.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    });

    it("accepts any first position when no position is stored", async () => {
      const storage = createMemoryStorage();
      const page = await storage.transaction("readwrite", (tx) => applyEventPage(tx, [messageEvent(40, 7)], "c-40", "alice"));
      expect(page.gap).toBeUndefined();
      expect(page.position).toBe(40);
    });

    it("ignores event kinds it does not know", async () => {
      const storage = createMemoryStorage();
      const unknown = create(EventSchema, { position: 1n });
      const page = await storage.transaction("readwrite", (tx) => applyEventPage(tx, [unknown, messageEvent(2, 1)], "c-2", "alice"));
      expect(page.gap).toBeUndefined();
      expect(page.position).toBe(2);
    });
  });

  describe("when the server no longer has the cursor's events", () => {
    it("rebuilds from an empty cursor, emits resync and keeps the outbox", async () => {
      const { clock, server, conversationId } = setup();
      server.post("alice", conversationId, "old");
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);
      bob.client.setNetworkAvailable(false);
      const { clientMessageId } = await bob.client.send(conversationId, "queued while offline");
      server.post("alice", conversationId, "missed");
      server.expireLog("bob");
      server.post("alice", conversationId, "new");

      bob.client.setNetworkAvailable(true);
      await clock.advance(100);

      expect(bob.events).toContainEqual({ type: "resync", reason: "ERROR_REASON_CURSOR_EXPIRED" });
      expect(server.messages(conversationId).map((m) => m.clientMessageId)).toContain(clientMessageId);
      const texts = (await storedMessages(bob.storage, conversationId)).map((m) => m.text);
      expect(texts).toContain("new");
      expect(texts).toContain("queued while offline");
      expect(await storedOutbox(bob.storage)).toEqual([]);
      // The conversation record comes back from the server (ListConversations), as it was before.
      await waitFor(
        async () => (await bob.storage.transaction("readonly", (tx) => tx.getConversation(conversationId)))?.members.length === 2,
        "conversation restored",
      );
      await bob.client.close();
    });

    it("treats a cursor the server never issued the same way", async () => {
      const { clock, server, conversationId } = setup();
      server.post("alice", conversationId, "hello");
      // Only the rebuild brings the conversation back: the log has none of its events.
      server.expireLog("bob");
      const storage = createMemoryStorage();
      await storage.transaction("readwrite", async (tx) => {
        await tx.setMeta("cursor", "garbage");
        await tx.setMeta("position", "99");
      });
      const bob = makeClient(server, "bob", { storage });
      await bob.client.start();
      await clock.advance(100);

      expect(bob.events).toContainEqual({ type: "resync", reason: "ERROR_REASON_CURSOR_INVALID" });
      expect((await storedMessages(storage, conversationId)).map((m) => m.text)).toEqual(["hello"]);
      const record = await storage.transaction("readonly", (tx) => tx.getConversation(conversationId));
      expect(record?.members.map((member) => member.userId)).toEqual(["alice", "bob"]);
      await bob.client.close();
    });
  });

  describe("syncNow()", () => {
    it("fetches events at once, even while connected", async () => {
      const { clock, server, conversationId } = setup();
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);
      const before = server.count("Sync");
      await bob.client.syncNow();
      expect(server.count("Sync")).toBe(before + 1);
      server.post("alice", conversationId, "x");
      await settle();
      await bob.client.close();
    });

    it("rejects with the server's error", async () => {
      const { clock, server } = setup();
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);
      server.failNext("Sync", 1, Code.Internal);
      await expect(bob.client.syncNow()).rejects.toMatchObject({ code: Code.Internal });
      await bob.client.close();
    });
  });

  it("keeps unread counts and marks when a message arrives twice", async () => {
    const { clock, server, conversationId } = setup();
    server.post("alice", conversationId, "one");
    const bob = makeClient(server, "bob");
    await bob.client.start();
    await clock.advance(10);
    await bob.client.syncNow();
    await bob.client.syncNow();
    const record = await bob.storage.transaction("readonly", (tx) => tx.getConversation(conversationId));
    expect(record?.unreadCount).toBe(1);
    expect(bob.events.filter((event) => event.type === "message")).toHaveLength(1);
    void ErrorReason;
    await bob.client.close();
  });
});

describe("Sync of a large backlog", () => {
  it("applies 10,000 messages in 20 conversations in server order", async () => {
    const { clock, server } = setup();
    const conversations = Array.from({ length: 20 }, (_, index) => server.createConversation(["bob", `user${index}`]).id);
    for (let i = 0; i < 10_000; i++) {
      const index = i % 20;
      server.post(`user${index}`, conversations[index]!, `message ${i}`);
    }
    const bob = makeClient(server, "bob");
    await bob.client.start();
    await clock.advance(10);

    for (const id of conversations) {
      const stored = await storedMessages(bob.storage, id);
      expect(stored).toHaveLength(500);
      expect(stored.map((m) => m.text)).toEqual(server.messages(id).map((m) => m.text));
    }
    const meta = await bob.storage.transaction("readonly", async (tx) => ({
      position: await tx.getMeta("position"),
      cursor: await tx.getMeta("cursor"),
    }));
    expect(meta).toEqual({ position: String(server.logEnd("bob")), cursor: `pos:${server.logEnd("bob")}` });
    const record = await bob.storage.transaction("readonly", (tx) => tx.getConversation(conversations[0]!));
    expect(record?.unreadCount).toBe(500);
    await bob.client.close();
  }, 60_000);
});
