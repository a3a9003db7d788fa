import { describe, expect, it } from "vitest";
import type { StorageHarness } from "./harness.js";
import type { MessageRange } from "@chatwire/sdk-core";
import { range, sampleMessage, sampleMessages } from "./samples.js";

const seqsOf = (records: readonly { seq: number }[]): number[] => records.map((record) => record.seq);

export function describeMessages(h: StorageHarness): void {
  describe("messages", () => {
    it("returns the records as they were put", async () => {
      const records = sampleMessages("group:launch", [1, 2, 3]);

      await h.write((tx) => tx.putMessages(records));

      const stored = await h.read((tx) => tx.getMessages("group:launch", { limit: 10 }));
      expect(stored).toStrictEqual(records);
    });

    it("returns nothing for an unknown conversation", async () => {
      await h.write((tx) => tx.putMessages(sampleMessages("group:launch", [1])));

      expect(await h.read((tx) => tx.getMessages("group:none", { limit: 10 }))).toEqual([]);
    });

    it("accepts an empty batch", async () => {
      await h.write((tx) => tx.putMessages([]));

      expect(await h.read((tx) => tx.getMessages("group:launch", { limit: 10 }))).toEqual([]);
    });

    it("replaces a message with the same conversation and seq", async () => {
      await h.write((tx) => tx.putMessages(sampleMessages("group:launch", [1, 2, 3])));
      const replacement = sampleMessage("group:launch", 2, {
        messageId: "msg-replaced",
        senderId: "carol",
        senderDeviceId: "carol-tablet",
        clientMessageId: "0197a000-0000-7000-8000-999999999999",
        text: "edited text",
        createdAt: 1_750_000_123_000,
      });

      await h.write((tx) => tx.putMessages([replacement]));

      const stored = await h.read((tx) => tx.getMessages("group:launch", { limit: 10 }));
      expect(stored).toStrictEqual([
        sampleMessage("group:launch", 1),
        replacement,
        sampleMessage("group:launch", 3),
      ]);
    });

    it("keeps the later of two records with one seq in a batch", async () => {
      const first = sampleMessage("group:launch", 1, { text: "first" });
      const second = sampleMessage("group:launch", 1, { text: "second" });

      await h.write((tx) => tx.putMessages([first, second]));

      expect(await h.read((tx) => tx.getMessages("group:launch", { limit: 10 }))).toStrictEqual([second]);
    });

    it("keeps the same seq of different conversations apart", async () => {
      const launch = sampleMessages("group:launch", [1, 2]);
      const direct = sampleMessages("direct:alice-bob", [1, 2, 3]);

      // One batch, conversations interleaved, seqs out of order.
      await h.write((tx) =>
        tx.putMessages([direct[2]!, launch[1]!, direct[0]!, launch[0]!, direct[1]!]),
      );

      expect(await h.read((tx) => tx.getMessages("group:launch", { limit: 10 }))).toStrictEqual(launch);
      expect(await h.read((tx) => tx.getMessages("direct:alice-bob", { limit: 10 }))).toStrictEqual(direct);
    });

    it("returns ascending seq whatever the insert order", async () => {
      await h.write((tx) => tx.putMessages(sampleMessages("group:launch", [5, 1, 4, 2, 3])));

      const stored = await h.read((tx) => tx.getMessages("group:launch", { limit: 10 }));
      expect(seqsOf(stored)).toEqual([1, 2, 3, 4, 5]);
    });

    describe("ranges over seq 1 to 20", () => {
      const read = (range: MessageRange) =>
        h.read(async (tx) => seqsOf(await tx.getMessages("group:launch", range)));

      const seed = () =>
        h.write(async (tx) => {
          await tx.putMessages(sampleMessages("group:launch", range(1, 20)));
          // Another conversation's messages must never leak into a range.
          await tx.putMessages(sampleMessages("direct:alice-bob", range(1, 30)));
        });

      it("without bounds returns the newest, ascending", async () => {
        await seed();
        expect(await read({ limit: 5 })).toEqual([16, 17, 18, 19, 20]);
      });

      it("with beforeSeq returns the newest below it, ascending", async () => {
        await seed();
        expect(await read({ beforeSeq: 10, limit: 3 })).toEqual([7, 8, 9]);
      });

      it("with afterSeq returns the oldest above it, ascending", async () => {
        await seed();
        expect(await read({ afterSeq: 10, limit: 3 })).toEqual([11, 12, 13]);
      });

      it("with both bounds returns the newest between them", async () => {
        await seed();
        expect(await read({ afterSeq: 5, beforeSeq: 15, limit: 3 })).toEqual([12, 13, 14]);
        expect(await read({ afterSeq: 5, beforeSeq: 15, limit: 100 })).toEqual(range(6, 14));
      });

      it("excludes both bounds themselves", async () => {
        await seed();
        expect(await read({ afterSeq: 9, beforeSeq: 11, limit: 10 })).toEqual([10]);
        expect(await read({ afterSeq: 10, beforeSeq: 11, limit: 10 })).toEqual([]);
      });

      it("returns all there are when the limit is larger", async () => {
        await seed();
        expect(await read({ limit: 1000 })).toEqual(range(1, 20));
        expect(await read({ beforeSeq: 4, limit: 1000 })).toEqual([1, 2, 3]);
        expect(await read({ afterSeq: 17, limit: 1000 })).toEqual([18, 19, 20]);
      });

      it("returns nothing beyond the ends", async () => {
        await seed();
        expect(await read({ beforeSeq: 1, limit: 10 })).toEqual([]);
        expect(await read({ afterSeq: 20, limit: 10 })).toEqual([]);
      });

      it("returns nothing with limit 0", async () => {
        await seed();
        expect(await read({ limit: 0 })).toEqual([]);
        expect(await read({ beforeSeq: 10, limit: 0 })).toEqual([]);
        expect(await read({ afterSeq: 10, limit: 0 })).toEqual([]);
      });

      it("returns one message with limit 1", async () => {
        await seed();
        expect(await read({ limit: 1 })).toEqual([20]);
        expect(await read({ beforeSeq: 10, limit: 1 })).toEqual([9]);
        expect(await read({ afterSeq: 10, limit: 1 })).toEqual([11]);
      });
    });

    it("counts the limit in stored messages when seqs have holes", async () => {
      await h.write((tx) => tx.putMessages(sampleMessages("group:launch", [1, 2, 5, 9, 12])));

      const read = (range: MessageRange) =>
        h.read(async (tx) => seqsOf(await tx.getMessages("group:launch", range)));

      expect(await read({ beforeSeq: 9, limit: 2 })).toEqual([2, 5]);
      expect(await read({ afterSeq: 2, limit: 2 })).toEqual([5, 9]);
      expect(await read({ afterSeq: 1, beforeSeq: 12, limit: 2 })).toEqual([5, 9]);
    });
  });
}
