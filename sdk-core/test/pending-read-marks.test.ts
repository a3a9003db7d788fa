import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createMemoryStorage } from "../src/storage/memory.js";
import type { ChatStorage, StorageTransaction, TransactionMode } from "../src/storage/types.js";
import { makeClient, recordingLogger, setup } from "./support/harness.js";

function pendingReadMarks(storage: ChatStorage) {
  return storage.transaction("readonly", (tx) => tx.listPendingReadMarks());
}

/** Returns the local user's read mark and the unread count of a stored conversation. */
function localState(storage: ChatStorage, conversationId: string, userId: string) {
  return storage.transaction("readonly", async (tx) => {
    const conversation = await tx.getConversation(conversationId);
    return {
      readSeq: conversation?.members.find((member) => member.userId === userId)?.readSeq,
      unreadCount: conversation?.unreadCount,
    };
  });
}

/** Returns the read marks of `userId` in the Acknowledge calls so far, as [conversationId, readSeq] pairs. */
function acknowledgedReadMarks(server: ReturnType<typeof setup>["server"], userId: string): [string, number][] {
  return server.calls
    .filter((call) => call.method === "Acknowledge" && call.userId === userId)
    .flatMap((call) => (call.request as { marks: { conversationId: string; readSeq: bigint }[] }).marks)
    .filter((mark) => mark.readSeq > 0n)
    .map((mark) => [mark.conversationId, Number(mark.readSeq)]);
}

/** Wraps a storage so that putPendingReadMark fails, to show what shares its transaction. */
function storageFailingMarks(inner: ChatStorage): ChatStorage {
  return {
    transaction<T>(mode: TransactionMode, run: (tx: StorageTransaction) => Promise<T>): Promise<T> {
      return inner.transaction(mode, (tx) => {
        const failing = new Proxy(tx, {
          get(target, property) {
            if (property === "putPendingReadMark") return () => Promise.reject(new Error("disk full"));
            const value: unknown = Reflect.get(target, property);
            return typeof value === "function" ? value.bind(target) : value;
          },
        });
        return run(failing);
      });
    },
    close: () => inner.close(),
  };
}

/** Creates a server where alice posted `count` messages to a conversation with bob. */
function conversationWithMessages(count: number) {
  const context = setup();
  for (let i = 0; i < count; i++) context.server.post("alice", context.conversationId, `m${i}`);
  return context;
}

/**
 * Syncs bob's client on a new memory storage, marks the conversation read
 * offline, and closes the client. Close stops the receipts without sending
 * what is pending, as a killed process would. Returns the storage.
 */
async function readOfflineThenClose(context: ReturnType<typeof setup>, seq?: number): Promise<ChatStorage> {
  const { clock, server, conversationId } = context;
  const storage = createMemoryStorage();
  const before = makeClient(server, "bob", { storage });
  await before.client.start();
  await clock.advance(10);
  before.client.setNetworkAvailable(false);
  await before.client.markRead(conversationId, seq);
  await before.client.close();
  return storage;
}

describe("Pending read marks", () => {
  describe("markRead()", () => {
    it("changes nothing when the mark cannot be stored", async () => {
      const { clock, server, conversationId } = conversationWithMessages(3);
      const storage = createMemoryStorage();
      const bob = makeClient(server, "bob", { storage: storageFailingMarks(storage) });
      await bob.client.start();
      await clock.advance(10);

      await expect(bob.client.markRead(conversationId)).rejects.toThrow("disk full");
      await clock.advance(10);

      expect(await localState(storage, conversationId, "bob")).toEqual({ readSeq: 0, unreadCount: 3 });
      expect(await pendingReadMarks(storage)).toEqual([]);
      expect(acknowledgedReadMarks(server, "bob")).toEqual([]);
      await bob.client.close();
    });

    it("keeps the mark in storage until the server acknowledges it", async () => {
      const { clock, server, conversationId } = conversationWithMessages(3);
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);
      const release = server.pause("Acknowledge");

      await bob.client.markRead(conversationId);
      await clock.advance(10);

      expect(await localState(bob.storage, conversationId, "bob")).toEqual({ readSeq: 3, unreadCount: 0 });
      expect(await pendingReadMarks(bob.storage)).toEqual([{ conversationId, readSeq: 3 }]);

      release();
      await clock.advance(10);

      expect(server.member(conversationId, "bob")?.readSeq).toBe(3);
      expect(await pendingReadMarks(bob.storage)).toEqual([]);
      await bob.client.close();
    });

    it("keeps a mark raised while the call is in flight", async () => {
      const { clock, server, conversationId } = conversationWithMessages(4);
      const bob = makeClient(server, "bob", { receiptDebounceMs: 1_000 });
      await bob.client.start();
      await clock.advance(10);
      const release = server.pause("Acknowledge");
      await bob.client.markRead(conversationId, 2);
      await clock.advance(10);

      await bob.client.markRead(conversationId, 4);
      await clock.advance(10);
      release();
      await clock.advance(10);

      expect(server.member(conversationId, "bob")?.readSeq).toBe(2);
      expect(await pendingReadMarks(bob.storage)).toEqual([{ conversationId, readSeq: 4 }]);

      await clock.advance(1_000);

      expect(server.member(conversationId, "bob")?.readSeq).toBe(4);
      expect(await pendingReadMarks(bob.storage)).toEqual([]);
      await bob.client.close();
    });

    it("keeps the mark through failed calls until one succeeds", async () => {
      const { clock, server, conversationId } = conversationWithMessages(3);
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);
      server.failNext("Acknowledge", 2, Code.Unavailable);

      await bob.client.markRead(conversationId);
      await clock.advance(10);
      expect(await pendingReadMarks(bob.storage)).toEqual([{ conversationId, readSeq: 3 }]);
      await clock.advance(30_000);

      expect(server.member(conversationId, "bob")?.readSeq).toBe(3);
      expect(await pendingReadMarks(bob.storage)).toEqual([]);
      await bob.client.close();
    });

    it("deletes the mark when the server rejects it for good", async () => {
      const { clock, server, conversationId } = conversationWithMessages(3);
      const logger = recordingLogger();
      const bob = makeClient(server, "bob", { logger });
      await bob.client.start();
      await clock.advance(10);
      server.failNext("Acknowledge", 1, Code.PermissionDenied);

      await bob.client.markRead(conversationId);
      await clock.advance(10);

      expect(await pendingReadMarks(bob.storage)).toEqual([]);
      expect(server.member(conversationId, "bob")?.readSeq).toBe(0);
      expect(logger.lines).toContainEqual(
        expect.objectContaining({ level: "warn", message: "server rejected the receipt marks; they are dropped" }),
      );
      await bob.client.close();
    });
  });

  describe("after a restart", () => {
    it("sends a mark the stopped client never sent", async () => {
      const context = conversationWithMessages(3);
      const { clock, server, conversationId } = context;
      const storage = await readOfflineThenClose(context);
      await clock.advance(10);
      expect(acknowledgedReadMarks(server, "bob")).toEqual([]);

      const after = makeClient(server, "bob", { storage });
      await after.client.start();
      await clock.advance(10);

      expect(acknowledgedReadMarks(server, "bob")).toEqual([[conversationId, 3]]);
      expect(server.member(conversationId, "bob")?.readSeq).toBe(3);
      expect(await pendingReadMarks(storage)).toEqual([]);
      await after.client.close();
    });

    it("sends a stored mark on a push wake-up", async () => {
      const context = conversationWithMessages(3);
      const { server, conversationId } = context;
      const storage = await readOfflineThenClose(context);

      const after = makeClient(server, "bob", { storage });
      after.client.background();
      await after.client.start();
      await after.client.wake({ deadlineMs: 5_000 });

      expect(server.member(conversationId, "bob")?.readSeq).toBe(3);
      expect(await pendingReadMarks(storage)).toEqual([]);
      await after.client.close();
    });

    it("never lowers a read mark with a stale stored one", async () => {
      const context = conversationWithMessages(5);
      const { clock, server, conversationId } = context;
      const storage = await readOfflineThenClose(context, 2);
      // Meanwhile bob read further on another device.
      server.acknowledgeAs("bob", conversationId, 5, 4);

      const after = makeClient(server, "bob", { storage });
      await after.client.start();
      await clock.advance(10);

      expect(acknowledgedReadMarks(server, "bob")).toEqual([[conversationId, 2]]);
      expect(server.member(conversationId, "bob")?.readSeq).toBe(4);
      expect(await localState(storage, conversationId, "bob")).toEqual({ readSeq: 4, unreadCount: 1 });
      expect(await pendingReadMarks(storage)).toEqual([]);
      await after.client.close();
    });

    it("drops a stored mark of a conversation the user left", async () => {
      const { clock, server, conversationId } = conversationWithMessages(3);
      const storage = createMemoryStorage();
      await storage.transaction("readwrite", async (tx) => {
        await tx.setMeta("userId", "bob");
        await tx.putConversation({
          conversationId: "group:left",
          kind: "group",
          title: "left",
          members: [],
          lastSeq: 7,
          unreadCount: 0,
          removed: true,
          updatedAt: 0,
        });
        await tx.putPendingReadMark({ conversationId: "group:left", readSeq: 7 });
        await tx.putPendingReadMark({ conversationId, readSeq: 1 });
      });

      const bob = makeClient(server, "bob", { storage });
      await bob.client.start();
      await clock.advance(10);

      expect(acknowledgedReadMarks(server, "bob")).toEqual([[conversationId, 1]]);
      expect(await pendingReadMarks(storage)).toEqual([]);
      await bob.client.close();
    });
  });
});
