import { describe, expect, it } from "vitest";
import type { StorageHarness } from "./harness.js";
import { sampleConversation } from "./samples.js";

export function describeMeta(h: StorageHarness): void {
  describe("meta", () => {
    it("returns undefined for a key never set", async () => {
      expect(await h.read((tx) => tx.getMeta("cursor"))).toBeUndefined();
    });

    it("returns the value set last", async () => {
      await h.write((tx) => tx.setMeta("cursor", "c-1"));
      await h.write((tx) => tx.setMeta("cursor", "c-2"));

      expect(await h.read((tx) => tx.getMeta("cursor"))).toBe("c-2");
    });

    it("keeps each key apart", async () => {
      await h.write(async (tx) => {
        await tx.setMeta("userId", "alice");
        await tx.setMeta("deviceId", "device-1");
        await tx.setMeta("cursor", "c-9");
        await tx.setMeta("position", "42");
      });

      const values = await h.read(async (tx) => [
        await tx.getMeta("userId"),
        await tx.getMeta("deviceId"),
        await tx.getMeta("cursor"),
        await tx.getMeta("position"),
      ]);
      expect(values).toEqual(["alice", "device-1", "c-9", "42"]);
    });

    it("stores an empty string as a value, not as missing", async () => {
      await h.write((tx) => tx.setMeta("cursor", ""));

      expect(await h.read((tx) => tx.getMeta("cursor"))).toBe("");
    });

    it("deletes one key and leaves the others", async () => {
      await h.write(async (tx) => {
        await tx.setMeta("cursor", "c-1");
        await tx.setMeta("deviceId", "device-1");
      });

      await h.write((tx) => tx.deleteMeta("cursor"));

      expect(await h.read((tx) => tx.getMeta("cursor"))).toBeUndefined();
      expect(await h.read((tx) => tx.getMeta("deviceId"))).toBe("device-1");
    });

    it("deletes a missing key without an error", async () => {
      await expect(h.write((tx) => tx.deleteMeta("position"))).resolves.toBeUndefined();
    });
  });
}

export function describeConversations(h: StorageHarness): void {
  describe("conversations", () => {
    it("returns undefined for an unknown id", async () => {
      expect(await h.read((tx) => tx.getConversation("group:none"))).toBeUndefined();
    });

    it("returns the record as it was put", async () => {
      const group = sampleConversation("group:launch");
      const direct = sampleConversation("direct:alice-bob", {
        kind: "direct",
        title: "",
        removed: true,
        unreadCount: 0,
        members: [],
      });

      await h.write(async (tx) => {
        await tx.putConversation(group);
        await tx.putConversation(direct);
      });

      expect(await h.read((tx) => tx.getConversation("group:launch"))).toStrictEqual(group);
      expect(await h.read((tx) => tx.getConversation("direct:alice-bob"))).toStrictEqual(direct);
    });

    it("keeps the order of members", async () => {
      const record = sampleConversation("group:order", {
        members: ["carol", "alice", "bob"].map((userId, index) => ({
          userId,
          deliveredSeq: index,
          readSeq: index,
          joinedAfterSeq: 0,
        })),
      });

      await h.write((tx) => tx.putConversation(record));

      const stored = await h.read((tx) => tx.getConversation("group:order"));
      expect(stored?.members.map((member) => member.userId)).toEqual(["carol", "alice", "bob"]);
    });

    it("replaces the record with the same id", async () => {
      await h.write((tx) => tx.putConversation(sampleConversation("group:launch")));
      const replacement = sampleConversation("group:launch", {
        title: "Renamed",
        lastSeq: 9,
        unreadCount: 4,
        removed: true,
        updatedAt: 1_750_000_009_000,
        members: [{ userId: "carol", deliveredSeq: 9, readSeq: 5, joinedAfterSeq: 4 }],
      });

      await h.write((tx) => tx.putConversation(replacement));

      expect(await h.read((tx) => tx.getConversation("group:launch"))).toStrictEqual(replacement);
      expect(await h.read((tx) => tx.listConversations())).toStrictEqual([replacement]);
    });

    it("lists nothing when empty", async () => {
      expect(await h.read((tx) => tx.listConversations())).toEqual([]);
    });

    it("lists newest updatedAt first, then by conversationId", async () => {
      // Put in an order that matches neither sort key.
      const records = [
        sampleConversation("b", { updatedAt: 2_000 }),
        sampleConversation("d", { updatedAt: 1_000 }),
        sampleConversation("a", { updatedAt: 2_000 }),
        sampleConversation("c", { updatedAt: 3_000 }),
        sampleConversation("e", { updatedAt: 1_000 }),
      ];
      await h.write(async (tx) => {
        for (const record of records) await tx.putConversation(record);
      });

      const listed = await h.read((tx) => tx.listConversations());

      expect(listed.map((record) => record.conversationId)).toEqual(["c", "a", "b", "d", "e"]);
    });

    it("moves a conversation in the list when its updatedAt changes", async () => {
      await h.write(async (tx) => {
        await tx.putConversation(sampleConversation("old", { updatedAt: 1_000 }));
        await tx.putConversation(sampleConversation("new", { updatedAt: 2_000 }));
      });

      await h.write((tx) => tx.putConversation(sampleConversation("old", { updatedAt: 3_000 })));

      const listed = await h.read((tx) => tx.listConversations());
      expect(listed.map((record) => record.conversationId)).toEqual(["old", "new"]);
    });
  });
}
