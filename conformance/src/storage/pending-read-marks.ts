import { describe, expect, it } from "vitest";
import type { StorageHarness } from "./harness.js";
import { sampleConversation } from "./samples.js";
import { sortMarks } from "./snapshot.js";

export function describePendingReadMarks(h: StorageHarness): void {
  const list = async () => sortMarks(await h.read((tx) => tx.listPendingReadMarks()));

  describe("pending read marks", () => {
    it("lists nothing when empty", async () => {
      expect(await list()).toEqual([]);
    });

    it("returns a mark as it was put", async () => {
      await h.write((tx) => tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 7 }));

      expect(await list()).toStrictEqual([{ conversationId: "group:launch", readSeq: 7 }]);
    });

    it("keeps one mark per conversation", async () => {
      await h.write(async (tx) => {
        await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 3 });
        await tx.putPendingReadMark({ conversationId: "direct:alice-bob", readSeq: 9 });
        await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 5 });
      });

      expect(await list()).toStrictEqual([
        { conversationId: "direct:alice-bob", readSeq: 9 },
        { conversationId: "group:launch", readSeq: 5 },
      ]);
    });

    it("raises a stored mark", async () => {
      await h.write((tx) => tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 3 }));

      await h.write((tx) => tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 8 }));

      expect(await list()).toStrictEqual([{ conversationId: "group:launch", readSeq: 8 }]);
    });

    it("never lowers a stored mark", async () => {
      await h.write((tx) => tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 8 }));

      await h.write((tx) => tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 3 }));
      await h.write(async (tx) => {
        await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 10 });
        await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 4 });
      });

      expect(await list()).toStrictEqual([{ conversationId: "group:launch", readSeq: 10 }]);
    });

    it("deletes a mark at or below the acknowledged seq", async () => {
      await h.write(async (tx) => {
        await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 5 });
        await tx.putPendingReadMark({ conversationId: "direct:alice-bob", readSeq: 2 });
      });

      expect(await h.write((tx) => tx.deletePendingReadMark("group:launch", 5))).toBe(true);
      expect(await h.write((tx) => tx.deletePendingReadMark("direct:alice-bob", 6))).toBe(true);

      expect(await list()).toEqual([]);
    });

    it("keeps a mark above the acknowledged seq", async () => {
      // The mark went up to 9 while an acknowledgement of 5 was on its way.
      await h.write((tx) => tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 9 }));

      expect(await h.write((tx) => tx.deletePendingReadMark("group:launch", 5))).toBe(false);

      expect(await list()).toStrictEqual([{ conversationId: "group:launch", readSeq: 9 }]);
    });

    it("returns false when deleting a missing mark", async () => {
      await h.write((tx) => tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 1 }));

      expect(await h.write((tx) => tx.deletePendingReadMark("group:none", 100))).toBe(false);
      expect(await list()).toHaveLength(1);
    });

    it("reject writes in a readonly transaction", async () => {
      await h.write((tx) => tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 2 }));

      const put = h.read((tx) => tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 5 }));
      const deletion = h.read((tx) => tx.deletePendingReadMark("group:launch", 5));

      await expect(put).rejects.toThrow();
      await expect(deletion).rejects.toThrow();
      expect(await list()).toStrictEqual([{ conversationId: "group:launch", readSeq: 2 }]);
    });

    it("commit with the unread count of the same transaction", async () => {
      // The way markRead() uses them: the local read mark, the unread count
      // and the pending mark change together or not at all.
      const before = sampleConversation("group:launch", { lastSeq: 9, unreadCount: 4 });
      await h.write((tx) => tx.putConversation(before));
      const read = { ...before, unreadCount: 0 };

      const failed = h.write(async (tx) => {
        await tx.putConversation(read);
        await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 9 });
        throw new Error("roll back");
      });
      await expect(failed).rejects.toThrow("roll back");
      expect(await h.read((tx) => tx.getConversation("group:launch"))).toStrictEqual(before);
      expect(await list()).toEqual([]);

      await h.write(async (tx) => {
        await tx.putConversation(read);
        await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 9 });
      });
      expect(await h.read((tx) => tx.getConversation("group:launch"))).toStrictEqual(read);
      expect(await list()).toStrictEqual([{ conversationId: "group:launch", readSeq: 9 }]);
    });

    it("survive a reopen", async (context) => {
      if (!h.canReopen) context.skip("this adapter keeps nothing across instances");
      await h.write(async (tx) => {
        await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 4 });
        await tx.putPendingReadMark({ conversationId: "direct:alice-bob", readSeq: 1 });
      });

      await h.reopen();

      expect(await list()).toStrictEqual([
        { conversationId: "direct:alice-bob", readSeq: 1 },
        { conversationId: "group:launch", readSeq: 4 },
      ]);
      await h.write((tx) => tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 2 }));
      expect(await list()).toContainEqual({ conversationId: "group:launch", readSeq: 4 });
    });
  });
}
