import { describe, expect, it } from "vitest";
import type { StorageHarness } from "./harness.js";
import { sampleConversation, sampleMessages, sampleOutboxEntry } from "./samples.js";
import { takeSnapshot } from "./snapshot.js";

const conversationIds = ["group:launch", "direct:alice-bob"];

async function seed(h: StorageHarness): Promise<void> {
  await h.write(async (tx) => {
    await tx.setMeta("userId", "alice");
    await tx.setMeta("deviceId", "device-1");
    await tx.setMeta("cursor", "c-7");
    await tx.setMeta("position", "7");
    await tx.putConversation(sampleConversation("group:launch", { updatedAt: 2_000 }));
    await tx.putConversation(sampleConversation("direct:alice-bob", { kind: "direct", title: "", updatedAt: 1_000 }));
    await tx.putMessages([...sampleMessages("group:launch", [1, 2, 3]), ...sampleMessages("direct:alice-bob", [1])]);
    await tx.addOutbox(sampleOutboxEntry("id-2", { conversationId: "direct:alice-bob" }));
    await tx.addOutbox(
      sampleOutboxEntry("id-1", {
        state: "failed",
        attempts: 2,
        failure: { code: "invalid_argument", message: "too long", reason: "TEXT_TOO_LONG" },
      }),
    );
    await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 3 });
  });
}

export function describeClearSyncedState(h: StorageHarness): void {
  describe("clearSyncedState", () => {
    it("keeps the outbox, read marks and ids, clears the rest", async () => {
      await seed(h);
      const before = await takeSnapshot(h, conversationIds);

      await h.write((tx) => tx.clearSyncedState());

      const after = await takeSnapshot(h, conversationIds);
      expect(after.meta).toStrictEqual({ userId: "alice", deviceId: "device-1" });
      expect(after.conversations).toEqual([]);
      expect(after.messages).toStrictEqual({ "group:launch": [], "direct:alice-bob": [] });
      expect(after.outbox).toStrictEqual(before.outbox);
      expect(after.pendingReadMarks).toStrictEqual([{ conversationId: "group:launch", readSeq: 3 }]);
      expect(await h.read((tx) => tx.getConversation("group:launch"))).toBeUndefined();
    });

    it("leaves a storage that accepts new synced state", async () => {
      await seed(h);
      await h.write((tx) => tx.clearSyncedState());

      await h.write(async (tx) => {
        await tx.setMeta("cursor", "c-new");
        await tx.putConversation(sampleConversation("group:launch"));
        await tx.putMessages(sampleMessages("group:launch", [1]));
        await tx.addOutbox(sampleOutboxEntry("id-3"));
      });

      const after = await takeSnapshot(h, conversationIds);
      expect(after.meta.cursor).toBe("c-new");
      expect(after.conversations).toHaveLength(1);
      expect(after.messages["group:launch"]).toHaveLength(1);
      expect(after.outbox.map((entry) => entry.clientMessageId)).toEqual(["id-2", "id-1", "id-3"]);
    });
  });
}

export function describeClose(h: StorageHarness): void {
  describe("close", () => {
    it("finishes transactions requested before it", async () => {
      const pending = h.write(async (tx) => {
        await tx.setMeta("cursor", "before-close");
        return "committed";
      });

      await h.close();

      await expect(pending).resolves.toBe("committed");
    });
  });

  describe("across reopen", () => {
    it("keeps every committed record", async (context) => {
      if (!h.canReopen) context.skip("this adapter keeps nothing across instances");
      await seed(h);
      const before = await takeSnapshot(h, conversationIds);

      await h.reopen();

      expect(await takeSnapshot(h, conversationIds)).toStrictEqual(before);
    });

    it("keeps the outbox order and continues it", async (context) => {
      if (!h.canReopen) context.skip("this adapter keeps nothing across instances");
      await h.write(async (tx) => {
        for (const id of ["id-c", "id-a", "id-b"]) await tx.addOutbox(sampleOutboxEntry(id));
        await tx.deleteOutbox("id-c");
      });

      await h.reopen();
      await h.write((tx) => tx.addOutbox(sampleOutboxEntry("id-c")));

      const listed = await h.read((tx) => tx.listOutbox());
      expect(listed.map((entry) => entry.clientMessageId)).toEqual(["id-a", "id-b", "id-c"]);
    });

    it("keeps a transaction that close waited for", async (context) => {
      if (!h.canReopen) context.skip("this adapter keeps nothing across instances");
      const pending = h.write((tx) => tx.addOutbox(sampleOutboxEntry("id-1")));

      await h.reopen();

      await pending;
      expect(await h.read((tx) => tx.getOutbox("id-1"))).toStrictEqual(sampleOutboxEntry("id-1"));
    });

    it("has none of a rolled-back transaction", async (context) => {
      if (!h.canReopen) context.skip("this adapter keeps nothing across instances");
      const attempt = h.write(async (tx) => {
        await tx.addOutbox(sampleOutboxEntry("id-1"));
        await tx.setMeta("cursor", "c-1");
        throw new Error("roll back");
      });
      await expect(attempt).rejects.toThrow("roll back");

      await h.reopen();

      expect(await h.read((tx) => tx.listOutbox())).toEqual([]);
      expect(await h.read((tx) => tx.getMeta("cursor"))).toBeUndefined();
    });
  });
}
