import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ConversationKind, EventSchema, MessageSchema } from "@chatwire/gen";
import type { Event } from "@chatwire/gen";
import { describe, expect, it } from "vitest";
import { createMemoryStorage } from "../src/storage/memory.js";
import type { ChatStorage, MessageRecord, StorageTransaction } from "../src/storage/types.js";
import { applyEventPage } from "../src/sync/apply-events.js";
import { toMessageRecord } from "../src/sync/records.js";

const userId = "alice";

function message(conversationId: string, seq: number, senderId = "bob") {
  return {
    conversationId,
    seq: BigInt(seq),
    messageId: `${conversationId}-m${seq}`,
    senderId,
    clientMessageId: `0190f000-0000-7000-8000-${String(seq).padStart(12, "0")}`,
    text: `${conversationId} text ${seq}`,
    createdAt: timestampFromMs(1_000 * seq),
  };
}

function messageEvent(position: number, conversationId: string, seq: number, senderId = "bob"): Event {
  return create(EventSchema, {
    position: BigInt(position),
    kind: { case: "message", value: { message: message(conversationId, seq, senderId) } },
  });
}

/** Returns a conversation event that carries the conversation's last message, as a snapshot does. */
function conversationEvent(position: number, conversationId: string, lastSeq: number): Event {
  return create(EventSchema, {
    position: BigInt(position),
    kind: {
      case: "conversation",
      value: {
        conversation: {
          conversationId,
          kind: ConversationKind.DIRECT,
          members: [
            { userId: "alice", deliveredSeq: 0n, readSeq: 0n },
            { userId: "bob", deliveredSeq: BigInt(lastSeq), readSeq: BigInt(lastSeq) },
          ],
          lastSeq: BigInt(lastSeq),
          unreadCount: BigInt(lastSeq),
          lastMessage: message(conversationId, lastSeq),
        },
        removed: false,
      },
    },
  });
}

/** Returns messages of two conversations, interleaved as a user's log has them, at positions 1 to 2 * count. */
function interleavedPage(count: number, firstPosition = 1): Event[] {
  const events: Event[] = [];
  for (let seq = 1; seq <= count; seq++) {
    events.push(messageEvent(firstPosition + 2 * (seq - 1), "c1", seq));
    events.push(messageEvent(firstPosition + 2 * (seq - 1) + 1, "c2", seq, seq % 3 === 0 ? userId : "carol"));
  }
  return events;
}

function apply(storage: ChatStorage, events: Event[], cursor: string) {
  return storage.transaction("readwrite", (tx) => applyEventPage(tx, events, cursor, userId));
}

/** Sets the stored cursor and position back, as if the last page had not been applied. */
function rewind(storage: ChatStorage, cursor: string, position: number | undefined) {
  return storage.transaction("readwrite", async (tx: StorageTransaction) => {
    await tx.setMeta("cursor", cursor);
    if (position === undefined) await tx.deleteMeta("position");
    else await tx.setMeta("position", String(position));
  });
}

function conversation(storage: ChatStorage, conversationId: string) {
  return storage.transaction("readonly", (tx) => tx.getConversation(conversationId));
}

function messages(storage: ChatStorage, conversationId: string): Promise<MessageRecord[]> {
  return storage.transaction("readonly", (tx) => tx.getMessages(conversationId, { limit: 10_000 }));
}

describe("applyEventPage", () => {
  describe("when a page is applied again", () => {
    it("keeps unread counts and stores each message once", async () => {
      const storage = createMemoryStorage();
      const page = interleavedPage(30);
      const first = await apply(storage, page, "p-60");

      await rewind(storage, "", undefined);
      const again = await apply(storage, page, "p-60");

      expect(first.events).toHaveLength(60);
      expect(again.events).toEqual([]);
      expect((await conversation(storage, "c1"))?.unreadCount).toBe(30);
      // Every third message of c2 is the local user's own, which never counts as unread.
      expect((await conversation(storage, "c2"))?.unreadCount).toBe(20);
      expect((await messages(storage, "c1")).map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect((await messages(storage, "c2")).map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(again.delivered.get("c1")).toBe(30);
      expect(again.position).toBe(60);
    });

    it("counts only the messages storage did not have", async () => {
      const storage = createMemoryStorage();
      // Seqs 4 to 6 of c1 arrived before through GetHistory.
      await storage.transaction("readwrite", (tx) =>
        tx.putMessages([4, 5, 6].map((seq) => toMessageRecord(create(MessageSchema, message("c1", seq))))),
      );

      const page = await apply(storage, interleavedPage(10), "p-20");

      const newSeqs = page.events.flatMap((event) => (event.type === "message" && event.message.conversationId === "c1" ? [event.message.seq] : []));
      expect(newSeqs).toEqual([1, 2, 3, 7, 8, 9, 10]);
      expect((await conversation(storage, "c1"))?.unreadCount).toBe(7);
      expect(await messages(storage, "c1")).toHaveLength(10);
    });
  });

  describe("when a conversation event comes between messages of one page", () => {
    it("treats its last message as stored", async () => {
      const storage = createMemoryStorage();
      const page = await apply(
        storage,
        [messageEvent(1, "c3", 1), conversationEvent(2, "c3", 2), messageEvent(3, "c3", 2), messageEvent(4, "c3", 3)],
        "p-4",
      );

      const newSeqs = page.events.flatMap((event) => (event.type === "message" ? [event.message.seq] : []));
      expect(newSeqs).toEqual([1, 3]);
      // The snapshot's count (2) replaces the local one, plus seq 3: the server already counted seq 2.
      expect((await conversation(storage, "c3"))?.unreadCount).toBe(3);
      expect((await messages(storage, "c3")).map((m) => m.seq)).toEqual([1, 2, 3]);
    });
  });

  describe("when storage has messages above a conversation event's last seq", () => {
    it("counts them as unread once", async () => {
      const storage = createMemoryStorage();
      await apply(storage, [conversationEvent(1, "c4", 2)], "p-1");
      // Seqs 3 to 5 arrived before their events, as a rebuild's history page stores them.
      await storage.transaction("readwrite", async (tx) => {
        await tx.putMessages([3, 4, 5].map((seq) => toMessageRecord(create(MessageSchema, message("c4", seq)))));
        const record = (await tx.getConversation("c4"))!;
        record.lastSeq = 5;
        await tx.putConversation(record);
      });

      const page = await apply(
        storage,
        [conversationEvent(2, "c4", 2), messageEvent(3, "c4", 3), messageEvent(4, "c4", 4), messageEvent(5, "c4", 5)],
        "p-5",
      );

      expect(page.events.filter((event) => event.type === "message")).toEqual([]);
      // The event's count (2) covers seqs up to 2; the stored seqs 3 to 5 add 3.
      expect((await conversation(storage, "c4"))?.unreadCount).toBe(5);
    });
  });

  describe("with the messages of a page split over several pages", () => {
    it("ends as one page applied at once", async () => {
      const whole = createMemoryStorage();
      const paged = createMemoryStorage();
      const events = interleavedPage(25);

      await apply(whole, events, "p-50");
      for (let start = 0; start < events.length; start += 7) {
        const end = Math.min(events.length, start + 7);
        await apply(paged, events.slice(start, end), `p-${end}`);
      }

      for (const id of ["c1", "c2"]) {
        expect(await messages(paged, id)).toEqual(await messages(whole, id));
        expect(await conversation(paged, id)).toEqual(await conversation(whole, id));
      }
    });
  });
});
