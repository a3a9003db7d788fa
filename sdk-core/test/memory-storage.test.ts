import { describe, expect, it } from "vitest";
import { createMemoryStorage } from "../src/storage/memory.js";
import type { ConversationRecord, MessageRecord, OutboxEntry } from "../src/storage/types.js";

const conversation = (id: string, updatedAt: number): ConversationRecord => ({
  conversationId: id,
  kind: "group",
  title: id,
  members: [{ userId: "alice", deliveredSeq: 0, readSeq: 0, joinedAfterSeq: 0 }],
  lastSeq: 0,
  unreadCount: 0,
  removed: false,
  updatedAt,
});

const message = (conversationId: string, seq: number): MessageRecord => ({
  conversationId,
  seq,
  messageId: `m${seq}`,
  senderId: "bob",
  senderDeviceId: "d",
  clientMessageId: `c${seq}`,
  text: `t${seq}`,
  createdAt: seq,
});

const entry = (id: string, conversationId = "c1"): OutboxEntry => ({
  clientMessageId: id,
  conversationId,
  text: id,
  createdAt: 0,
  state: "queued",
  attempts: 0,
});

describe("Memory storage", () => {
  it("rolls back every write when the callback throws", async () => {
    const storage = createMemoryStorage();
    await storage.transaction("readwrite", async (tx) => {
      await tx.setMeta("cursor", "before");
      await tx.putMessages([message("c1", 1)]);
    });

    await expect(
      storage.transaction("readwrite", async (tx) => {
        await tx.setMeta("cursor", "after");
        await tx.putMessages([message("c1", 2)]);
        await tx.addOutbox(entry("x"));
        await tx.putConversation(conversation("c1", 1));
        expect(await tx.getMeta("cursor")).toBe("after");
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");

    await storage.transaction("readonly", async (tx) => {
      expect(await tx.getMeta("cursor")).toBe("before");
      expect((await tx.getMessages("c1", { limit: 10 })).map((m) => m.seq)).toEqual([1]);
      expect(await tx.listOutbox()).toEqual([]);
      expect(await tx.getConversation("c1")).toBeUndefined();
    });
  });

  it("runs transactions one at a time in request order", async () => {
    const storage = createMemoryStorage();
    const order: string[] = [];
    const slow = storage.transaction("readwrite", async (tx) => {
      order.push("first start");
      await new Promise((resolve) => setTimeout(resolve, 5));
      await tx.setMeta("cursor", "first");
      order.push("first end");
    });
    const fast = storage.transaction("readwrite", async (tx) => {
      order.push("second start");
      expect(await tx.getMeta("cursor")).toBe("first");
      await tx.setMeta("cursor", "second");
    });
    await Promise.all([slow, fast]);
    expect(order).toEqual(["first start", "first end", "second start"]);
  });

  it("rejects writes in a readonly transaction", async () => {
    const storage = createMemoryStorage();
    await expect(storage.transaction("readonly", (tx) => tx.setMeta("cursor", "x"))).rejects.toThrow(/readonly/);
  });

  it("keeps outbox order when an entry is updated and rejects duplicates", async () => {
    const storage = createMemoryStorage();
    await storage.transaction("readwrite", async (tx) => {
      await tx.addOutbox(entry("a"));
      await tx.addOutbox(entry("b", "c2"));
      await tx.addOutbox(entry("c"));
      await tx.updateOutbox({ ...entry("a"), state: "failed", failure: { code: "not_found", message: "gone" } });
      await expect(tx.addOutbox(entry("b"))).rejects.toThrow(/exists already/);
      await expect(tx.updateOutbox(entry("zzz"))).rejects.toThrow(/not found/);
    });
    await storage.transaction("readwrite", async (tx) => {
      expect((await tx.listOutbox()).map((e) => e.clientMessageId)).toEqual(["a", "b", "c"]);
      expect((await tx.listOutbox("c1")).map((e) => e.clientMessageId)).toEqual(["a", "c"]);
      expect(await tx.deleteOutbox("b")).toBe(true);
      expect(await tx.deleteOutbox("b")).toBe(false);
    });
  });

  it("selects message ranges from the newest or the oldest end", async () => {
    const storage = createMemoryStorage();
    await storage.transaction("readwrite", (tx) => tx.putMessages([5, 1, 3, 2, 4].map((seq) => message("c1", seq))));
    await storage.transaction("readonly", async (tx) => {
      const seqs = async (range: Parameters<typeof tx.getMessages>[1]) => (await tx.getMessages("c1", range)).map((m) => m.seq);
      expect(await seqs({ limit: 2 })).toEqual([4, 5]);
      expect(await seqs({ beforeSeq: 4, limit: 2 })).toEqual([2, 3]);
      expect(await seqs({ afterSeq: 1, limit: 2 })).toEqual([2, 3]);
      expect(await seqs({ afterSeq: 1, beforeSeq: 5, limit: 10 })).toEqual([2, 3, 4]);
      expect(await seqs({ limit: 0 })).toEqual([]);
    });
  });

  it("lists conversations newest first, then by id", async () => {
    const storage = createMemoryStorage();
    await storage.transaction("readwrite", async (tx) => {
      await tx.putConversation(conversation("b", 1));
      await tx.putConversation(conversation("a", 1));
      await tx.putConversation(conversation("c", 2));
    });
    const ids = await storage.transaction("readonly", async (tx) => (await tx.listConversations()).map((c) => c.conversationId));
    expect(ids).toEqual(["c", "a", "b"]);
  });

  it("returns copies, so callers cannot change stored records", async () => {
    const storage = createMemoryStorage();
    const record = conversation("c1", 1);
    await storage.transaction("readwrite", (tx) => tx.putConversation(record));
    record.members[0]!.readSeq = 99;
    const read = await storage.transaction("readonly", (tx) => tx.getConversation("c1"));
    read!.title = "changed";
    const again = await storage.transaction("readonly", (tx) => tx.getConversation("c1"));
    expect(again?.members[0]?.readSeq).toBe(0);
    expect(again?.title).toBe("c1");
  });

  it("clears synced state but keeps the outbox, device id and user id", async () => {
    const storage = createMemoryStorage();
    await storage.transaction("readwrite", async (tx) => {
      for (const [key, value] of [["userId", "alice"], ["deviceId", "d1"], ["cursor", "c"], ["position", "7"]] as const) {
        await tx.setMeta(key, value);
      }
      await tx.putConversation(conversation("c1", 1));
      await tx.putMessages([message("c1", 1)]);
      await tx.addOutbox(entry("kept"));
      await tx.clearSyncedState();
    });
    await storage.transaction("readonly", async (tx) => {
      expect(await tx.getMeta("userId")).toBe("alice");
      expect(await tx.getMeta("deviceId")).toBe("d1");
      expect(await tx.getMeta("cursor")).toBeUndefined();
      expect(await tx.getMeta("position")).toBeUndefined();
      expect(await tx.listConversations()).toEqual([]);
      expect(await tx.getMessages("c1", { limit: 10 })).toEqual([]);
      expect(await tx.listOutbox()).toHaveLength(1);
    });
  });

  it("rejects use of a transaction after it finished and use after close", async () => {
    const storage = createMemoryStorage();
    let leaked: Parameters<Parameters<typeof storage.transaction>[1]>[0] | undefined;
    await storage.transaction("readonly", async (tx) => {
      leaked = tx;
    });
    await expect(leaked!.getMeta("cursor")).rejects.toThrow(/finished/);
    await storage.close();
    await expect(storage.transaction("readonly", async () => 1)).rejects.toThrow(/closed/);
  });
});
