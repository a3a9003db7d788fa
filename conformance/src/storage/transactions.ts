import { describe, expect, it } from "vitest";
import type { StorageHarness } from "./harness.js";
import { sampleConversation, sampleMessage, sampleMessages, sampleOutboxEntry } from "./samples.js";
import { sortMarks, takeSnapshot } from "./snapshot.js";
import type { StorageTransaction } from "@chatwire/sdk-core";

const conversationIds = ["group:launch", "direct:alice-bob"];

/** Fills every part of the storage, so a rollback test can see any part change. */
async function seed(h: StorageHarness): Promise<void> {
  await h.write(async (tx) => {
    await tx.setMeta("userId", "alice");
    await tx.setMeta("deviceId", "device-1");
    await tx.setMeta("cursor", "c-1");
    await tx.putConversation(sampleConversation("group:launch"));
    await tx.putMessages(sampleMessages("group:launch", [1, 2, 3]));
    await tx.addOutbox(sampleOutboxEntry("id-1"));
    await tx.addOutbox(sampleOutboxEntry("id-2"));
    await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 2 });
    await tx.putPendingReadMark({ conversationId: "group:old", readSeq: 5 });
  });
}

/** Changes every part of the storage through every write operation. */
async function writeEverything(tx: StorageTransaction): Promise<void> {
  await tx.setMeta("cursor", "c-2");
  await tx.setMeta("position", "99");
  await tx.deleteMeta("deviceId");
  await tx.putConversation(sampleConversation("group:launch", { title: "changed" }));
  await tx.putConversation(sampleConversation("direct:alice-bob", { kind: "direct", title: "" }));
  await tx.putMessages([sampleMessage("group:launch", 2, { text: "changed" }), sampleMessage("group:launch", 4)]);
  await tx.putMessages(sampleMessages("direct:alice-bob", [1]));
  await tx.addOutbox(sampleOutboxEntry("id-3"));
  await tx.updateOutbox(sampleOutboxEntry("id-1", { attempts: 7 }));
  await tx.deleteOutbox("id-2");
  await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 3 });
  await tx.putPendingReadMark({ conversationId: "direct:alice-bob", readSeq: 1 });
  await tx.deletePendingReadMark("group:old", 5);
}

/** Lets other queued work run, as a callback awaiting many operations would. */
async function yieldTimes(tx: StorageTransaction, times: number): Promise<void> {
  for (let index = 0; index < times; index++) await tx.getMeta("cursor");
}

export function describeTransactions(h: StorageHarness): void {
  describe("transactions", () => {
    it("resolve with the callback's value", async () => {
      await expect(h.write(async () => ({ answer: 42 }))).resolves.toEqual({ answer: 42 });
      await expect(h.read(async (tx) => tx.getMeta("cursor"))).resolves.toBeUndefined();
    });

    it("roll back every write when the callback rejects", async () => {
      await seed(h);
      const before = await takeSnapshot(h, conversationIds);
      const failure = new Error("callback failed after writing");

      const attempt = h.write(async (tx) => {
        await writeEverything(tx);
        await tx.clearSyncedState();
        throw failure;
      });

      await expect(attempt).rejects.toBe(failure);
      expect(await takeSnapshot(h, conversationIds)).toStrictEqual(before);
    });

    it("roll back every write when the callback throws synchronously", async () => {
      await seed(h);
      const before = await takeSnapshot(h, conversationIds);
      const failure = new Error("callback threw after writing");

      // Not an async function: the operations start, then the throw escapes
      // the callback itself instead of a returned promise.
      const attempt = h.storage.transaction("readwrite", (tx) => {
        void tx.setMeta("cursor", "c-2");
        void tx.putConversation(sampleConversation("direct:alice-bob"));
        void tx.deleteOutbox("id-1");
        throw failure;
      });

      await expect(attempt).rejects.toBe(failure);
      expect(await takeSnapshot(h, conversationIds)).toStrictEqual(before);
    });

    it("roll back earlier writes when an operation fails", async () => {
      await seed(h);
      const before = await takeSnapshot(h, conversationIds);

      const attempt = h.write(async (tx) => {
        await writeEverything(tx);
        await tx.updateOutbox(sampleOutboxEntry("id-missing"));
      });

      await expect(attempt).rejects.toThrow();
      expect(await takeSnapshot(h, conversationIds)).toStrictEqual(before);
    });

    it("commit every write when the callback resolves", async () => {
      await seed(h);

      await h.write(writeEverything);

      const after = await takeSnapshot(h, conversationIds);
      expect(after.meta).toStrictEqual({ userId: "alice", cursor: "c-2", position: "99" });
      expect(after.conversations.map((record) => record.conversationId).sort()).toEqual(conversationIds.slice().sort());
      expect(after.messages["group:launch"]?.map((record) => record.text)).toEqual([
        sampleMessage("group:launch", 1).text,
        "changed",
        sampleMessage("group:launch", 3).text,
        sampleMessage("group:launch", 4).text,
      ]);
      expect(after.outbox.map((entry) => [entry.clientMessageId, entry.attempts])).toEqual([
        ["id-1", 7],
        ["id-3", 0],
      ]);
      expect(after.pendingReadMarks).toStrictEqual([
        { conversationId: "direct:alice-bob", readSeq: 1 },
        { conversationId: "group:launch", readSeq: 3 },
      ]);
    });

    it("see their own writes before the commit", async () => {
      await seed(h);

      const seen = await h.write(async (tx) => {
        await writeEverything(tx);
        const afterWrites = {
          cursor: await tx.getMeta("cursor"),
          deviceId: await tx.getMeta("deviceId"),
          title: (await tx.getConversation("group:launch"))?.title,
          listed: (await tx.listConversations()).length,
          texts: (await tx.getMessages("group:launch", { limit: 10 })).map((record) => record.text),
          direct: (await tx.getMessages("direct:alice-bob", { limit: 10 })).length,
          outbox: (await tx.listOutbox()).map((entry) => entry.clientMessageId),
          attempts: (await tx.getOutbox("id-1"))?.attempts,
          deleted: await tx.getOutbox("id-2"),
          marks: sortMarks(await tx.listPendingReadMarks()),
        };
        await tx.clearSyncedState();
        const afterClear = {
          cursor: await tx.getMeta("cursor"),
          listed: (await tx.listConversations()).length,
          messages: (await tx.getMessages("group:launch", { limit: 10 })).length,
        };
        return { afterWrites, afterClear };
      });

      expect(seen.afterWrites).toStrictEqual({
        cursor: "c-2",
        deviceId: undefined,
        title: "changed",
        listed: 2,
        texts: [
          sampleMessage("group:launch", 1).text,
          "changed",
          sampleMessage("group:launch", 3).text,
          sampleMessage("group:launch", 4).text,
        ],
        direct: 1,
        outbox: ["id-1", "id-3"],
        attempts: 7,
        deleted: undefined,
        marks: [
          { conversationId: "direct:alice-bob", readSeq: 1 },
          { conversationId: "group:launch", readSeq: 3 },
        ],
      });
      expect(seen.afterClear).toStrictEqual({ cursor: undefined, listed: 0, messages: 0 });
    });

    it("run one at a time in request order", async () => {
      const events: string[] = [];
      const run = (name: string, mode: "readonly" | "readwrite") =>
        h.storage.transaction(mode, async (tx) => {
          events.push(`${name} start`);
          await yieldTimes(tx, 20);
          events.push(`${name} end`);
          return name;
        });

      // Requested together without awaiting; each callback yields many times,
      // so interleaving would show in the event order.
      const results = await Promise.all([
        run("first", "readwrite"),
        run("second", "readonly"),
        run("third", "readwrite"),
        run("fourth", "readonly"),
      ]);

      expect(results).toEqual(["first", "second", "third", "fourth"]);
      expect(events).toEqual([
        "first start", "first end",
        "second start", "second end",
        "third start", "third end",
        "fourth start", "fourth end",
      ]);
    });

    it("see only transactions committed before them", async () => {
      const first = h.write(async (tx) => {
        await tx.setMeta("cursor", "from-first");
        await yieldTimes(tx, 20);
        // A later transaction must not have written in between.
        return tx.getMeta("cursor");
      });
      const second = h.write(async (tx) => {
        const seen = await tx.getMeta("cursor");
        await tx.setMeta("cursor", "from-second");
        return seen;
      });

      expect(await first).toBe("from-first");
      expect(await second).toBe("from-first");
      expect(await h.read((tx) => tx.getMeta("cursor"))).toBe("from-second");
    });

    it("keep running after one in the queue fails", async () => {
      const failure = new Error("second fails");
      const first = h.write((tx) => tx.setMeta("cursor", "from-first"));
      const second = h.write(async (tx) => {
        await tx.setMeta("cursor", "from-second");
        throw failure;
      });
      const third = h.read((tx) => tx.getMeta("cursor"));

      await expect(first).resolves.toBeUndefined();
      await expect(second).rejects.toBe(failure);
      await expect(third).resolves.toBe("from-first");
    });
  });
}
