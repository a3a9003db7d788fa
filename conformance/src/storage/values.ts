import { beforeAll, describe, expect, it } from "vitest";
import type { StorageHarness } from "./harness.js";
import { sampleConversation, sampleMessage, sampleOutboxEntry } from "./samples.js";
import { sortMarks } from "./snapshot.js";
import { largeText, loadHardTexts, type HardText, type TranscriptLoader } from "./texts.js";

const hundredKilobytes = 100 * 1024;

export function describeValues(h: StorageHarness, loadTranscript?: TranscriptLoader): void {
  describe("values", () => {
    let texts: HardText[] = [];
    beforeAll(async () => {
      texts = await loadHardTexts(loadTranscript);
    });

    it("uses a transcript with every hard kind of text", () => {
      // Guards the fixture itself: a normalizing editor would make the
      // round-trip checks below pass without testing anything.
      const all = texts.map((entry) => entry.text).join("\n");
      expect(all, "emoji ZWJ sequence").toContain("\u200D");
      expect(all, "combining mark in NFD").toMatch(/\p{M}/u);
      expect(all === all.normalize("NFC"), "text that NFC would change").toBe(false);
      expect(all, "right-to-left script").toMatch(/\p{Script=Arabic}/u);
      expect(all, "tab").toContain("\t");
      expect(all, "newline").toContain("\n");
    });

    it("round-trips every text in messages unchanged", async () => {
      const records = texts.map((entry, index) => sampleMessage("group:launch", index + 1, { text: entry.text }));

      await h.write((tx) => tx.putMessages(records));

      const stored = await h.read((tx) => tx.getMessages("group:launch", { limit: records.length }));
      texts.forEach((entry, index) => {
        expect(stored[index]?.text, entry.label).toBe(entry.text);
      });
    });

    it("round-trips every text in the outbox, meta and titles unchanged", async () => {
      await h.write(async (tx) => {
        for (const [index, entry] of texts.entries()) {
          await tx.addOutbox(sampleOutboxEntry(`id-${index}`, { text: entry.text }));
          await tx.putConversation(sampleConversation(`group:${index}`, { title: entry.text }));
        }
      });

      for (const [index, entry] of texts.entries()) {
        await h.write((tx) => tx.setMeta("cursor", entry.text));
        const stored = await h.read(async (tx) => ({
          outbox: (await tx.getOutbox(`id-${index}`))?.text,
          title: (await tx.getConversation(`group:${index}`))?.title,
          meta: await tx.getMeta("cursor"),
        }));
        expect(stored.outbox, `${entry.label} in the outbox`).toBe(entry.text);
        expect(stored.title, `${entry.label} as a title`).toBe(entry.text);
        expect(stored.meta, `${entry.label} in meta`).toBe(entry.text);
      }
    });

    it("round-trips hard text in ids and member user ids", async () => {
      const id = texts.find((entry) => entry.text.includes("\u200D"))?.text ?? "";
      const record = sampleConversation(id, {
        members: [{ userId: id, deliveredSeq: 1, readSeq: 1, joinedAfterSeq: 0 }],
      });

      await h.write(async (tx) => {
        await tx.putConversation(record);
        await tx.putMessages([sampleMessage(id, 1)]);
        await tx.addOutbox(sampleOutboxEntry(id, { conversationId: id }));
      });

      expect(await h.read((tx) => tx.getConversation(id))).toStrictEqual(record);
      expect(await h.read((tx) => tx.getMessages(id, { limit: 1 }))).toStrictEqual([sampleMessage(id, 1)]);
      expect((await h.read((tx) => tx.listOutbox(id))).map((entry) => entry.clientMessageId)).toEqual([id]);
    });

    it("round-trips 100 KB texts", async () => {
      const text = largeText(texts, hundredKilobytes);
      expect(new TextEncoder().encode(text).length).toBeGreaterThanOrEqual(hundredKilobytes);

      await h.write(async (tx) => {
        await tx.putMessages([sampleMessage("group:launch", 1, { text })]);
        await tx.addOutbox(sampleOutboxEntry("id-large", { text }));
        await tx.setMeta("cursor", text);
      });

      const stored = await h.read(async (tx) => ({
        message: (await tx.getMessages("group:launch", { limit: 1 }))[0]?.text,
        outbox: (await tx.getOutbox("id-large"))?.text,
        meta: await tx.getMeta("cursor"),
      }));
      expect(stored.message === text, "message text equal").toBe(true);
      expect(stored.outbox === text, "outbox text equal").toBe(true);
      expect(stored.meta === text, "meta value equal").toBe(true);
    });

    it("round-trips every text as a pending read mark's conversation id", async () => {
      await h.write(async (tx) => {
        for (const [index, entry] of texts.entries()) {
          await tx.putPendingReadMark({ conversationId: entry.text, readSeq: index + 1 });
        }
      });

      const stored = new Map(
        (await h.read((tx) => tx.listPendingReadMarks())).map((mark) => [mark.conversationId, mark.readSeq]),
      );
      // Texts that occur twice share one mark, which keeps the higher readSeq.
      const expected = new Map<string, number>();
      texts.forEach((entry, index) => expected.set(entry.text, index + 1));
      expect(stored.size).toBe(expected.size);
      for (const entry of texts) {
        expect(stored.get(entry.text), entry.label).toBe(expected.get(entry.text));
      }
      const lastIndex = texts.length - 1;
      expect(await h.write((tx) => tx.deletePendingReadMark(texts[lastIndex]!.text, lastIndex + 1))).toBe(true);
    });

    it("keeps pending read marks of canonically equivalent ids apart", async () => {
      // The same visible name, composed (NFC) and decomposed (NFD).
      const composed = "group:Zo\u00e9";
      const decomposed = "group:Zoe\u0301";

      await h.write(async (tx) => {
        await tx.putPendingReadMark({ conversationId: composed, readSeq: 1 });
        await tx.putPendingReadMark({ conversationId: decomposed, readSeq: 2 });
      });
      await h.write((tx) => tx.deletePendingReadMark(composed, 1));

      expect(await h.read((tx) => tx.listPendingReadMarks())).toStrictEqual([
        { conversationId: decomposed, readSeq: 2 },
      ]);
    });

    it("round-trips large pending read marks", async () => {
      // A 100 KB conversation id, and seqs up to the largest safe integer.
      const id = largeText(texts, hundredKilobytes);
      const largest = Number.MAX_SAFE_INTEGER;

      await h.write(async (tx) => {
        await tx.putPendingReadMark({ conversationId: id, readSeq: largest - 1 });
        await tx.putPendingReadMark({ conversationId: id, readSeq: largest });
        await tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 2 ** 40 + 1 });
        await tx.putPendingReadMark({ conversationId: id, readSeq: 2 ** 40 });
      });

      const marks = sortMarks(await h.read((tx) => tx.listPendingReadMarks()));
      expect(marks).toHaveLength(2);
      expect(marks.find((mark) => mark.conversationId === "group:launch")?.readSeq).toBe(2 ** 40 + 1);
      const large = marks.find((mark) => mark.conversationId.length > 1_000);
      expect(large?.conversationId === id, "100 KB id equal").toBe(true);
      expect(large?.readSeq).toBe(largest);
      expect(await h.write((tx) => tx.deletePendingReadMark(id, largest - 1))).toBe(false);
      expect(await h.write((tx) => tx.deletePendingReadMark(id, largest))).toBe(true);
    });

    it("round-trips a conversation with 1,000 members", async () => {
      const members = Array.from({ length: 1000 }, (_, index) => ({
        userId: `user-${String(index).padStart(4, "0")}`,
        deliveredSeq: index * 3,
        readSeq: index * 2,
        joinedAfterSeq: index,
      }));
      const record = sampleConversation("group:large", { members });

      await h.write((tx) => tx.putConversation(record));

      expect(await h.read((tx) => tx.getConversation("group:large"))).toStrictEqual(record);
    });

    it("round-trips large integers exactly", async () => {
      const seq = 2 ** 40 + 1;
      const createdAt = 4_102_444_800_123; // 2100-01-01, with milliseconds
      const message = sampleMessage("group:launch", seq, { createdAt });
      const conversation = sampleConversation("group:launch", {
        lastSeq: seq,
        unreadCount: 2 ** 31 + 5,
        updatedAt: createdAt,
        members: [{ userId: "alice", deliveredSeq: seq, readSeq: seq - 1, joinedAfterSeq: seq - 2 }],
      });

      await h.write(async (tx) => {
        await tx.putMessages([message]);
        await tx.putConversation(conversation);
        await tx.addOutbox(sampleOutboxEntry("id-1", { createdAt, attempts: 2 ** 31 }));
      });

      expect(await h.read((tx) => tx.getMessages("group:launch", { limit: 1 }))).toStrictEqual([message]);
      expect(await h.read((tx) => tx.getMessages("group:launch", { afterSeq: seq - 1, limit: 1 }))).toStrictEqual([message]);
      expect(await h.read((tx) => tx.getConversation("group:launch"))).toStrictEqual(conversation);
      expect(await h.read((tx) => tx.getOutbox("id-1"))).toStrictEqual(
        sampleOutboxEntry("id-1", { createdAt, attempts: 2 ** 31 }),
      );
    });

    it("keeps stored records apart from the caller's objects", async () => {
      // A persistent engine copies by nature. An in-memory one must copy too,
      // because otherwise a caller that edits a record changes what is stored.
      const conversation = sampleConversation("group:launch");
      const message = sampleMessage("group:launch", 1);
      const entry = sampleOutboxEntry("id-1", { failure: { code: "internal", message: "m" }, state: "failed" });
      await h.write(async (tx) => {
        await tx.putConversation(conversation);
        await tx.putMessages([message]);
        await tx.addOutbox(entry);
      });

      conversation.title = "edited after put";
      conversation.members[0]!.readSeq = 99;
      message.text = "edited after put";
      entry.failure!.message = "edited after put";
      const read = await h.read(async (tx) => ({
        conversation: await tx.getConversation("group:launch"),
        message: (await tx.getMessages("group:launch", { limit: 1 }))[0],
        entry: await tx.getOutbox("id-1"),
      }));
      read.conversation!.members[0]!.userId = "edited after get";
      read.message!.text = "edited after get";
      read.entry!.failure!.code = "edited after get";

      const again = await h.read(async (tx) => ({
        conversation: await tx.getConversation("group:launch"),
        message: (await tx.getMessages("group:launch", { limit: 1 }))[0],
        entry: await tx.getOutbox("id-1"),
      }));
      expect(again.conversation).toStrictEqual(sampleConversation("group:launch"));
      expect(again.message).toStrictEqual(sampleMessage("group:launch", 1));
      expect(again.entry).toStrictEqual(
        sampleOutboxEntry("id-1", { failure: { code: "internal", message: "m" }, state: "failed" }),
      );
    });
  });
}
