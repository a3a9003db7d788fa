import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createMemoryStorage } from "../src/storage/memory.js";
import type { ChatStorage, StorageTransaction, TransactionMode } from "../src/storage/types.js";
import { settle, waitFor } from "./support/fake-clock.js";
import { makeClient, recordingLogger, setup, storedMessages } from "./support/harness.js";
import type { FakeServer } from "./support/fake-server.js";

/**
 * Wraps a storage so that `afterWrite` runs after each committed read-write
 * transaction, with its number (start() commits number 1).
 */
function observedStorage(inner: ChatStorage, afterWrite: (count: number) => Promise<void>): ChatStorage {
  let count = 0;
  return {
    async transaction<T>(mode: TransactionMode, run: (tx: StorageTransaction) => Promise<T>): Promise<T> {
      const value = await inner.transaction(mode, run);
      if (mode === "readwrite") await afterWrite(++count);
      return value;
    },
    close: () => inner.close(),
  };
}

/** Wraps a storage so that its `failOn`-th read-write transaction throws after its writes, as a crash before commit does. */
function crashingStorage(inner: ChatStorage, failOn: number): ChatStorage & { crashed: boolean } {
  let count = 0;
  const storage = {
    crashed: false,
    async transaction<T>(mode: TransactionMode, run: (tx: StorageTransaction) => Promise<T>): Promise<T> {
      return inner.transaction(mode, async (tx) => {
        const value = await run(tx);
        if (mode === "readwrite" && ++count === failOn) {
          storage.crashed = true;
          throw new Error("simulated crash before commit");
        }
        return value;
      });
    },
    close: () => inner.close(),
  };
  return storage;
}

/** Returns everything sync stores, for comparing two storages. */
function syncedState(storage: ChatStorage) {
  return storage.transaction("readonly", async (tx) => {
    const conversations = await tx.listConversations();
    const messages = [];
    for (const conversation of conversations) messages.push(...(await tx.getMessages(conversation.conversationId, { limit: 1e6 })));
    return { cursor: await tx.getMeta("cursor"), position: await tx.getMeta("position"), conversations, messages };
  });
}

/** Returns the position a fake server cursor ("pos:N") names. */
function positionOf(cursor: string | undefined): number {
  return Number(cursor?.slice("pos:".length));
}

/**
 * Syncs bob once, takes him offline and posts `count` messages from alice.
 * Returns bob's client (pages of 10 events, a recording logger) and the
 * stored cursor the catch-up resumes from.
 */
async function offlineBacklog(count: number, storage?: ChatStorage) {
  const context = setup();
  const { clock, server, conversationId } = context;
  const logger = recordingLogger();
  const bob = makeClient(server, "bob", { catchUpPageSize: 10, logger, ...(storage === undefined ? {} : { storage }) });
  await bob.client.start();
  await clock.advance(10);
  bob.client.setNetworkAvailable(false);
  await clock.advance(10);
  for (let i = 0; i < count; i++) server.post("alice", conversationId, `m${i}`);
  const resumeCursor = (await bob.storage.transaction("readonly", (tx) => tx.getMeta("cursor"))) ?? "";
  return { ...context, bob, logger, resumeCursor };
}

function texts(server: FakeServer, conversationId: string): string[] {
  return server.messages(conversationId).map((m) => m.text);
}

describe("Sync catch-up prefetch", () => {
  it("requests the next page before applying one", async () => {
    const { clock, server, conversationId } = setup();
    for (let i = 0; i < 45; i++) server.post("alice", conversationId, `m${i}`);
    // Sync requests the server had received when each page's transaction committed.
    const syncsAtCommit: number[] = [];
    const storage = observedStorage(createMemoryStorage(), async (count) => {
      if (count === 1) return;
      await settle();
      syncsAtCommit.push(server.count("Sync"));
    });
    const bob = makeClient(server, "bob", { catchUpPageSize: 10, storage });

    await bob.client.start();
    await clock.advance(10);
    const pages = Math.ceil(server.logEnd("bob") / 10);
    await waitFor(() => syncsAtCommit.length >= pages, "every page's commit");

    const catchUp = syncsAtCommit.slice(0, pages);
    expect(catchUp.slice(0, -1)).toEqual(Array.from({ length: pages - 1 }, (_, index) => index + 2));
    expect(catchUp.at(-1)).toBe(pages);
    expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(texts(server, conversationId));
    await bob.client.close();
  });

  it("discards the prefetched page after a gap", async () => {
    const { clock, server, conversationId, bob, logger } = await offlineBacklog(35);
    server.dropNextEvent("bob");

    bob.client.setNetworkAvailable(true);
    await clock.advance(100);

    // Applying the page after the gap page would have been a second gap (or a moved cursor).
    expect(logger.lines.filter((line) => line.message.startsWith("event log gap"))).toHaveLength(1);
    expect(logger.lines.filter((line) => line.message.startsWith("stored cursor moved"))).toHaveLength(0);
    expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(texts(server, conversationId));
    const emitted = bob.events.flatMap((event) => (event.type === "message" ? [event.message.text] : []));
    expect(emitted).toEqual(texts(server, conversationId).slice(-35));
    await bob.client.close();
  });

  it("requests the page again when the prefetch fails", async () => {
    const { clock, server, conversationId, bob, resumeCursor } = await offlineBacklog(35);
    // The first request from the second page's cursor is the prefetch.
    const secondPage = `pos:${positionOf(resumeCursor) + 10}`;
    server.failNext("Sync", 1, Code.Unavailable, undefined, (request: { cursor: string }) => request.cursor === secondPage);

    bob.client.setNetworkAvailable(true);
    await clock.advance(100);

    const cursors = server.calls.filter((call) => call.method === "Sync").map((call) => (call.request as { cursor: string }).cursor);
    expect(cursors.filter((cursor) => cursor === secondPage)).toHaveLength(2);
    expect(bob.states.some(([next]) => next.kind === "waiting")).toBe(false);
    expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(texts(server, conversationId));
    await bob.client.close();
  });

  it("ends as a clean run after a crash on a prefetched page", async () => {
    const { clock, server, conversationId } = setup({ maxPageSize: 40 });
    const group = server.createConversation(["alice", "bob", "carol"]).id;
    for (let i = 0; i < 60; i++) {
      server.post("alice", conversationId, `a${i}`);
      server.post(i % 4 === 0 ? "bob" : "carol", group, `g${i}`);
    }
    server.acknowledgeAs("bob", group, 30, 20);

    const clean = makeClient(server, "bob");
    await clean.client.start();
    await clock.advance(10);
    await clean.client.close();

    const inner = createMemoryStorage();
    // Transaction 1 is start() and 2 the first page; 3, the second page, was prefetched and crashes.
    const crashing = crashingStorage(inner, 3);
    const first = makeClient(server, "bob", { storage: crashing });
    await first.client.start();
    await waitFor(() => crashing.crashed, "the crash");
    await first.client.close();
    const partial = await syncedState(inner);
    expect(partial.messages.length).toBeGreaterThan(0);
    expect(partial.messages.length).toBeLessThan(120);

    const second = makeClient(server, "bob", { storage: inner });
    await second.client.start();
    await clock.advance(10);

    const expected = await syncedState(clean.storage);
    expect(await syncedState(inner)).toEqual(expected);
    expect(expected.conversations.find((c) => c.conversationId === group)?.unreadCount).toBe(30);
    await second.client.close();
  });

  it("skips a prefetched page once the stored cursor moved", async () => {
    const inner = createMemoryStorage();
    let armed = false;
    // A rebuild (clearSyncedState) right after a page commits, while the next page is in flight.
    const storage = observedStorage(inner, async () => {
      if (!armed) return;
      armed = false;
      await inner.transaction("readwrite", (tx) => tx.clearSyncedState());
    });
    const { clock, server, conversationId, bob, logger } = await offlineBacklog(35, storage);
    armed = true;

    bob.client.setNetworkAvailable(true);
    await clock.advance(100);

    expect(logger.lines.some((line) => line.message.startsWith("stored cursor moved"))).toBe(true);
    const stored = await storedMessages(inner, conversationId);
    expect(stored.map((m) => m.seq)).toEqual(server.messages(conversationId).map((m) => Number(m.seq)));
    await bob.client.close();
  });
});
