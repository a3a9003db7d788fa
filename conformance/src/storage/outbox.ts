import { describe, expect, it } from "vitest";
import type { StorageHarness } from "./harness.js";
import { sampleOutboxEntry } from "./samples.js";
import type { OutboxEntry } from "@chatwire/sdk-core";

const idsOf = (entries: readonly OutboxEntry[]): string[] => entries.map((entry) => entry.clientMessageId);

export function describeOutbox(h: StorageHarness): void {
  describe("outbox", () => {
    it("returns an entry as it was added", async () => {
      const queued = sampleOutboxEntry("id-queued");
      const failed = sampleOutboxEntry("id-failed", {
        state: "failed",
        attempts: 3,
        failure: { code: "invalid_argument", message: "text is 4,097 bytes; the limit is 4,096", reason: "TEXT_TOO_LONG" },
      });
      const failedWithoutReason = sampleOutboxEntry("id-failed-plain", {
        state: "failed",
        attempts: 1,
        failure: { code: "permission_denied", message: "not a member" },
      });

      await h.write(async (tx) => {
        await tx.addOutbox(queued);
        await tx.addOutbox(failed);
        await tx.addOutbox(failedWithoutReason);
      });

      expect(await h.read((tx) => tx.getOutbox("id-queued"))).toStrictEqual(queued);
      expect(await h.read((tx) => tx.getOutbox("id-failed"))).toStrictEqual(failed);
      expect(await h.read((tx) => tx.getOutbox("id-failed-plain"))).toStrictEqual(failedWithoutReason);
    });

    it("returns undefined for an unknown id", async () => {
      expect(await h.read((tx) => tx.getOutbox("id-none"))).toBeUndefined();
    });

    it("rejects a second entry with the same clientMessageId", async () => {
      const original = sampleOutboxEntry("id-1", { text: "original" });
      await h.write((tx) => tx.addOutbox(original));

      const duplicate = h.write((tx) => tx.addOutbox(sampleOutboxEntry("id-1", { text: "duplicate" })));

      await expect(duplicate).rejects.toThrow();
      expect(await h.read((tx) => tx.getOutbox("id-1"))).toStrictEqual(original);
      expect(await h.read((tx) => tx.listOutbox())).toHaveLength(1);
    });

    it("rejects a duplicate added in the same transaction", async () => {
      const attempt = h.write(async (tx) => {
        await tx.addOutbox(sampleOutboxEntry("id-1"));
        await tx.addOutbox(sampleOutboxEntry("id-1"));
      });

      await expect(attempt).rejects.toThrow();
      expect(await h.read((tx) => tx.listOutbox())).toEqual([]);
    });

    it("lists nothing when empty", async () => {
      expect(await h.read((tx) => tx.listOutbox())).toEqual([]);
    });

    it("lists entries in the order they were added", async () => {
      // Ids that sort differently from the insertion order.
      for (const id of ["id-c", "id-a", "id-b"]) {
        await h.write((tx) => tx.addOutbox(sampleOutboxEntry(id, { createdAt: 3_000 - id.charCodeAt(3) })));
      }

      expect(idsOf(await h.read((tx) => tx.listOutbox()))).toEqual(["id-c", "id-a", "id-b"]);
    });

    it("keeps an entry's place when it is updated", async () => {
      await h.write(async (tx) => {
        for (const id of ["id-1", "id-2", "id-3"]) await tx.addOutbox(sampleOutboxEntry(id));
      });
      const updated = sampleOutboxEntry("id-1", {
        state: "failed",
        attempts: 5,
        failure: { code: "resource_exhausted", message: "rate limit" },
      });

      await h.write((tx) => tx.updateOutbox(updated));

      const listed = await h.read((tx) => tx.listOutbox());
      expect(idsOf(listed)).toEqual(["id-1", "id-2", "id-3"]);
      expect(listed[0]).toStrictEqual(updated);
    });

    it("replaces every field on update, including a cleared failure", async () => {
      const failed = sampleOutboxEntry("id-1", {
        state: "failed",
        attempts: 2,
        failure: { code: "invalid_argument", message: "too long", reason: "TEXT_TOO_LONG" },
      });
      await h.write((tx) => tx.addOutbox(failed));
      const retried = sampleOutboxEntry("id-1", { state: "queued", attempts: 0, text: "shorter" });

      await h.write((tx) => tx.updateOutbox(retried));

      const stored = await h.read((tx) => tx.getOutbox("id-1"));
      expect(stored).toStrictEqual(retried);
      expect(stored?.failure).toBeUndefined();
    });

    it("rejects an update of a missing entry and adds nothing", async () => {
      const attempt = h.write((tx) => tx.updateOutbox(sampleOutboxEntry("id-missing")));

      await expect(attempt).rejects.toThrow();
      expect(await h.read((tx) => tx.listOutbox())).toEqual([]);
    });

    it("filters by conversation and keeps the order", async () => {
      await h.write(async (tx) => {
        await tx.addOutbox(sampleOutboxEntry("id-1", { conversationId: "group:launch" }));
        await tx.addOutbox(sampleOutboxEntry("id-2", { conversationId: "direct:alice-bob" }));
        await tx.addOutbox(sampleOutboxEntry("id-3", { conversationId: "group:launch" }));
        await tx.addOutbox(sampleOutboxEntry("id-4", { conversationId: "direct:alice-bob" }));
      });

      expect(idsOf(await h.read((tx) => tx.listOutbox("group:launch")))).toEqual(["id-1", "id-3"]);
      expect(idsOf(await h.read((tx) => tx.listOutbox("direct:alice-bob")))).toEqual(["id-2", "id-4"]);
      expect(await h.read((tx) => tx.listOutbox("group:none"))).toEqual([]);
    });

    it("deletes an entry and returns true", async () => {
      await h.write(async (tx) => {
        await tx.addOutbox(sampleOutboxEntry("id-1"));
        await tx.addOutbox(sampleOutboxEntry("id-2"));
      });

      expect(await h.write((tx) => tx.deleteOutbox("id-1"))).toBe(true);

      expect(await h.read((tx) => tx.getOutbox("id-1"))).toBeUndefined();
      expect(idsOf(await h.read((tx) => tx.listOutbox()))).toEqual(["id-2"]);
    });

    it("returns false when deleting a missing entry", async () => {
      await h.write((tx) => tx.addOutbox(sampleOutboxEntry("id-1")));

      expect(await h.write((tx) => tx.deleteOutbox("id-missing"))).toBe(false);
      expect(await h.write((tx) => tx.deleteOutbox("id-1"))).toBe(true);
      expect(await h.write((tx) => tx.deleteOutbox("id-1"))).toBe(false);
    });

    it("puts an entry added again after a delete at the end", async () => {
      await h.write(async (tx) => {
        await tx.addOutbox(sampleOutboxEntry("id-1"));
        await tx.addOutbox(sampleOutboxEntry("id-2"));
      });

      await h.write(async (tx) => {
        await tx.deleteOutbox("id-1");
        await tx.addOutbox(sampleOutboxEntry("id-1"));
      });

      expect(idsOf(await h.read((tx) => tx.listOutbox()))).toEqual(["id-2", "id-1"]);
    });
  });
}
