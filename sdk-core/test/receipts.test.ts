import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createMemoryStorage } from "../src/storage/memory.js";
import { settle } from "./support/fake-clock.js";
import { makeClient, setup } from "./support/harness.js";

async function conversationRecord(storage: ReturnType<typeof createMemoryStorage>, conversationId: string) {
  return storage.transaction("readonly", (tx) => tx.getConversation(conversationId));
}

describe("Receipts", () => {
  describe("after others' messages arrive", () => {
    it("acknowledges the cursor and the delivered mark once per debounce window", async () => {
      const { clock, server, conversationId } = setup();
      const bob = makeClient(server, "bob", { receiptDebounceMs: 1_000 });
      await bob.client.start();
      await clock.advance(10);
      const acksBefore = server.count("Acknowledge");

      for (let i = 0; i < 5; i++) server.post("alice", conversationId, `m${i}`);
      await clock.advance(900);
      expect(server.count("Acknowledge")).toBe(acksBefore);
      await clock.advance(200);

      const acks = server.calls.filter((call) => call.method === "Acknowledge").slice(acksBefore);
      expect(acks).toHaveLength(1);
      expect(acks[0]!.request).toMatchObject({
        cursor: expect.stringMatching(/^pos:/),
        marks: [expect.objectContaining({ conversationId, deliveredSeq: 5n, readSeq: 0n })],
      });
      expect(server.member(conversationId, "bob")).toMatchObject({ deliveredSeq: 5, readSeq: 0 });
      await bob.client.close();
    });

    it("retries a failed acknowledgement", async () => {
      const { clock, server, conversationId } = setup();
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);
      server.failNext("Acknowledge", 2, Code.Unavailable);
      server.post("alice", conversationId, "hi");
      await clock.advance(10_000);
      expect(server.member(conversationId, "bob")?.deliveredSeq).toBe(1);
      await bob.client.close();
    });
  });

  describe("markRead()", () => {
    it("zeroes the unread count at once and sends the read mark", async () => {
      const { clock, server, conversationId } = setup();
      for (let i = 0; i < 3; i++) server.post("alice", conversationId, `m${i}`);
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);
      expect((await conversationRecord(bob.storage, conversationId))?.unreadCount).toBe(3);

      await bob.client.markRead(conversationId);

      const record = await conversationRecord(bob.storage, conversationId);
      expect(record?.unreadCount).toBe(0);
      expect(record?.members.find((member) => member.userId === "bob")).toMatchObject({ readSeq: 3, deliveredSeq: 3 });
      await clock.advance(10);
      expect(server.member(conversationId, "bob")).toMatchObject({ readSeq: 3 });
      await bob.client.close();
    });

    it("leaves the count of messages above the mark", async () => {
      const { clock, server, conversationId } = setup();
      for (let i = 0; i < 4; i++) server.post("alice", conversationId, `m${i}`);
      server.post("bob", conversationId, "own");
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);

      await bob.client.markRead(conversationId, 2);

      expect((await conversationRecord(bob.storage, conversationId))?.unreadCount).toBe(2);
      await bob.client.close();
    });

    it("never lowers the read mark", async () => {
      const { clock, server, conversationId } = setup();
      for (let i = 0; i < 5; i++) server.post("alice", conversationId, `m${i}`);
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);

      await bob.client.markRead(conversationId, 4);
      await bob.client.markRead(conversationId, 2);
      await clock.advance(10);

      const record = await conversationRecord(bob.storage, conversationId);
      expect(record?.members.find((member) => member.userId === "bob")?.readSeq).toBe(4);
      expect(record?.unreadCount).toBe(1);
      expect(server.member(conversationId, "bob")?.readSeq).toBe(4);
      await bob.client.close();
    });

    it("rejects a seq above the conversation's last seq", async () => {
      const { clock, server, conversationId } = setup();
      server.post("alice", conversationId, "only");
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);
      await expect(bob.client.markRead(conversationId, 9)).rejects.toMatchObject({
        code: Code.InvalidArgument,
        message: expect.stringContaining("seq 9 is above the last seq 1"),
      });
      await expect(bob.client.markRead("unknown")).rejects.toMatchObject({ code: Code.NotFound });
      await bob.client.close();
    });
  });

  describe("with two devices of one user", () => {
    it("drops the unread count on the other device when one reads", async () => {
      const { clock, server, conversationId } = setup();
      for (let i = 0; i < 3; i++) server.post("alice", conversationId, `m${i}`);
      const phone = makeClient(server, "bob", { storage: createMemoryStorage() });
      const laptop = makeClient(server, "bob", { storage: createMemoryStorage() });
      await phone.client.start();
      await laptop.client.start();
      await clock.advance(10);
      expect((await conversationRecord(laptop.storage, conversationId))?.unreadCount).toBe(3);

      await phone.client.markRead(conversationId);
      await clock.advance(10);
      await settle();

      expect((await conversationRecord(laptop.storage, conversationId))?.unreadCount).toBe(0);
      expect(laptop.events).toContainEqual(
        expect.objectContaining({ type: "receipt", conversationId, userId: "bob", readSeq: 3 }),
      );
      await phone.client.close();
      await laptop.client.close();
    });
  });
});
