/**
 * The behaviour every Store implementation must show. A store's test file
 * calls describeStoreContract once with a factory for fresh, empty stores.
 */
import { Code } from "@connectrpc/connect";
import { ConversationKind, ErrorReason, type Event } from "@chatwire/gen";
import { afterEach, describe, expect, it } from "vitest";
import { uuidV7 } from "../src/ids.js";
import { encodeCursor, resolveCursor } from "../src/rpc/cursor.js";
import type { AcknowledgeInput, CommittedHeads, Store, StoreObserver } from "../src/store/types.js";
import { expectConnectError } from "./support/errors.js";

export type StoreFactory = (observer: StoreObserver) => Promise<Store> | Store;

const MAX_MEMBERS = 50;

export function describeStoreContract(name: string, createStore: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    const open: Store[] = [];
    let commits: CommittedHeads[] = [];

    async function fresh(): Promise<Store> {
      commits = [];
      const store = await createStore({ eventsCommitted: (heads) => commits.push(heads) });
      open.push(store);
      return store;
    }

    afterEach(async () => {
      await Promise.all(open.splice(0).map((store) => store.close()));
    });

    async function direct(store: Store, a: string, b: string): Promise<string> {
      const created = await store.createConversation({
        creatorId: a,
        kind: ConversationKind.DIRECT,
        memberIds: [b],
        title: "",
        requestId: "",
        maxMembers: MAX_MEMBERS,
      });
      return created.conversation.conversationId;
    }

    async function group(store: Store, creator: string, others: string[], requestId = ""): Promise<string> {
      const created = await store.createConversation({
        creatorId: creator,
        kind: ConversationKind.GROUP,
        memberIds: others,
        title: "team",
        requestId,
        maxMembers: MAX_MEMBERS,
      });
      return created.conversation.conversationId;
    }

    function send(store: Store, senderId: string, conversationId: string, text: string, clientMessageId = uuidV7()) {
      return store.sendMessage({ senderId, senderDeviceId: "d1", conversationId, clientMessageId, text });
    }

    async function allEvents(store: Store, userId: string): Promise<Event[]> {
      return store.readEvents(userId, 0, 100_000);
    }

    function acknowledgeMarks(store: Store, userId: string, marks: AcknowledgeInput["marks"]) {
      return store.acknowledge({ userId, deviceId: "phone", cursorPosition: undefined, marks });
    }

    async function readSeqOf(store: Store, userId: string, conversationId: string): Promise<bigint | undefined> {
      const conversation = await store.getConversation(userId, conversationId);
      return conversation.members.find((member) => member.userId === userId)?.readSeq;
    }

    describe("messages", () => {
      it("assigns gapless seqs under concurrent sends", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        const sends = Array.from({ length: 300 }, (_, index) =>
          send(store, index % 2 === 0 ? "alice" : "bob", id, `message ${index}`),
        );
        const results = await Promise.all(sends);
        const seqs = results.map((result) => Number(result.message.seq)).sort((a, b) => a - b);
        expect(seqs).toEqual(Array.from({ length: 300 }, (_, index) => index + 1));
        expect(new Set(results.map((result) => result.message.messageId)).size).toBe(300);
        const conversation = await store.getConversation("alice", id);
        expect(conversation.lastSeq).toBe(300n);
      });

      it("keeps a sender's sends in call order", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        const results = await Promise.all([0, 1, 2, 3, 4].map((index) => send(store, "alice", id, `m${index}`)));
        expect(results.map((result) => result.message.text)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
        expect(results.map((result) => Number(result.message.seq))).toEqual([1, 2, 3, 4, 5]);
      });

      it("stores text byte for byte", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        const text = "e\u0301 \u{1F469}\u200D\u{1F4BB} \u05E9\u05DC\u05D5\u05DD \u{1F1FA}\u{1F1E6}\t\n<b>&amp;</b>";
        await send(store, "alice", id, text);
        const history = await store.getHistory("bob", id, { beforeSeq: 0, limit: 10 });
        expect(Buffer.from(history.messages[0]?.text ?? "")).toEqual(Buffer.from(text));
      });
    });

    describe("idempotency", () => {
      it("replays a retry with the same id and seq", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        const key = uuidV7();
        const first = await send(store, "alice", id, "hello", key);
        await send(store, "alice", id, "in between");
        const retry = await send(store, "alice", id, "hello", key);
        expect(first.replayed).toBe(false);
        expect(retry.replayed).toBe(true);
        expect(retry.message.messageId).toBe(first.message.messageId);
        expect(retry.message.seq).toBe(first.message.seq);
        expect((await allEvents(store, "bob")).filter((event) => event.kind.case === "message")).toHaveLength(2);
      });

      it("stores concurrent duplicates once", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        const key = uuidV7();
        const results = await Promise.all([1, 2, 3, 4].map(() => send(store, "alice", id, "same", key)));
        expect(new Set(results.map((result) => result.message.messageId)).size).toBe(1);
        expect(results.filter((result) => !result.replayed)).toHaveLength(1);
        expect((await store.getConversation("alice", id)).lastSeq).toBe(1n);
      });

      it("rejects a reused key with other text", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        const key = uuidV7();
        await send(store, "alice", id, "hello", key);
        await expectConnectError(send(store, "alice", id, "changed", key), Code.AlreadyExists, ErrorReason.IDEMPOTENCY_KEY_REUSED);
        expect((await store.getConversation("alice", id)).lastSeq).toBe(1n);
      });

      it("rejects a reused key in another conversation", async () => {
        const store = await fresh();
        const first = await direct(store, "alice", "bob");
        const second = await direct(store, "alice", "carol");
        const key = uuidV7();
        await send(store, "alice", first, "hello", key);
        await expectConnectError(send(store, "alice", second, "hello", key), Code.AlreadyExists, ErrorReason.IDEMPOTENCY_KEY_REUSED);
      });

      it("scopes keys per sender", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        const key = uuidV7();
        const fromAlice = await send(store, "alice", id, "hi", key);
        const fromBob = await send(store, "bob", id, "hi", key);
        expect(fromBob.replayed).toBe(false);
        expect(fromBob.message.messageId).not.toBe(fromAlice.message.messageId);
      });
    });

    describe("event logs", () => {
      it("appends each message to every member, the sender included", async () => {
        const store = await fresh();
        const id = await group(store, "alice", ["bob", "carol"]);
        await send(store, "alice", id, "one");
        await send(store, "bob", id, "two");
        for (const user of ["alice", "bob", "carol"]) {
          const events = await allEvents(store, user);
          expect(events.map((event) => Number(event.position))).toEqual([1, 2, 3]);
          expect(events.map((event) => event.kind.case)).toEqual(["conversation", "message", "message"]);
        }
        expect(await allEvents(store, "dave")).toEqual([]);
      });

      it("keeps positions gapless per user across conversations", async () => {
        const store = await fresh();
        const first = await direct(store, "alice", "bob");
        const second = await direct(store, "alice", "carol");
        await Promise.all([send(store, "bob", first, "a"), send(store, "carol", second, "b"), send(store, "alice", first, "c")]);
        const alice = await allEvents(store, "alice");
        expect(alice.map((event) => Number(event.position))).toEqual([1, 2, 3, 4, 5]);
        expect((await store.logBounds("alice")).head).toBe(5);
        expect((await allEvents(store, "carol")).map((event) => Number(event.position))).toEqual([1, 2]);
      });

      it("reads pages after a position", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        for (let index = 0; index < 5; index++) await send(store, "alice", id, `m${index}`);
        const page = await store.readEvents("bob", 2, 2);
        expect(page.map((event) => Number(event.position))).toEqual([3, 4]);
        expect(await store.readEvents("bob", 6, 10)).toEqual([]);
      });

      it("reports the new heads after each commit", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        commits = [];
        await send(store, "alice", id, "hi");
        const merged = new Map<string, number>();
        for (const heads of commits) for (const [user, position] of heads) merged.set(user, position);
        expect(merged.get("alice")).toBe(2);
        expect(merged.get("bob")).toBe(2);
      });

      it("starts an unknown user's log empty", async () => {
        const store = await fresh();
        expect(await store.logBounds("nobody")).toEqual({ head: 0, prunedThrough: 0 });
      });

      it("commits writes queued before close", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        const sends = [send(store, "alice", id, "a"), send(store, "bob", id, "b")];
        const closing = store.close();
        const results = await Promise.all(sends);
        await closing;
        expect(results.map((result) => Number(result.message.seq))).toEqual([1, 2]);
      });

      it("keeps the log epoch for the life of the data", async () => {
        const store = await fresh();
        expect(store.logEpoch).toMatch(/^[0-9a-f]{8,64}$/);
      });
    });

    describe("cursors", () => {
      it("resolves empty, current and head cursors", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        await send(store, "alice", id, "hi");
        const bounds = await store.logBounds("bob");
        expect(resolveCursor("cursor", "", store.logEpoch, bounds)).toBe(0);
        expect(resolveCursor("cursor", encodeCursor(store.logEpoch, 1), store.logEpoch, bounds)).toBe(1);
        expect(resolveCursor("cursor", encodeCursor(store.logEpoch, 2), store.logEpoch, bounds)).toBe(2);
      });

      it("rejects a cursor past the head as invalid", async () => {
        const store = await fresh();
        const bounds = await store.logBounds("bob");
        await expectConnectError(
          Promise.resolve().then(() => resolveCursor("cursor", encodeCursor(store.logEpoch, 1), store.logEpoch, bounds)),
          Code.InvalidArgument,
          ErrorReason.CURSOR_INVALID,
        );
      });

      it("rejects a cursor of another epoch as expired", async () => {
        const store = await fresh();
        const bounds = await store.logBounds("bob");
        await expectConnectError(
          Promise.resolve().then(() => resolveCursor("cursor", encodeCursor("0123456789abcdef", 0), store.logEpoch, bounds)),
          Code.OutOfRange,
          ErrorReason.CURSOR_EXPIRED,
        );
      });
    });

    describe("receipts", () => {
      it("only raises marks, and read raises delivered", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        for (let index = 0; index < 5; index++) await send(store, "alice", id, `m${index}`);
        const ack = (deliveredSeq: number, readSeq: number) =>
          store.acknowledge({ userId: "bob", deviceId: "phone", cursorPosition: undefined, marks: [{ conversationId: id, deliveredSeq, readSeq }] });
        expect(await ack(4, 0)).toEqual([{ conversationId: id, deliveredSeq: 4, readSeq: 0 }]);
        expect(await ack(0, 3)).toEqual([{ conversationId: id, deliveredSeq: 4, readSeq: 3 }]);
        expect(await ack(2, 1)).toEqual([{ conversationId: id, deliveredSeq: 4, readSeq: 3 }]);
        expect(await ack(0, 5)).toEqual([{ conversationId: id, deliveredSeq: 5, readSeq: 5 }]);
        const bob = (await store.getConversation("alice", id)).members.find((member) => member.userId === "bob");
        expect(bob?.deliveredSeq).toBe(5n);
        expect(bob?.readSeq).toBe(5n);
      });

      it("appends a receipt to every member only when a mark rises", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        await send(store, "alice", id, "m");
        const ack = () =>
          store.acknowledge({ userId: "bob", deviceId: "phone", cursorPosition: undefined, marks: [{ conversationId: id, deliveredSeq: 0, readSeq: 1 }] });
        await ack();
        await ack();
        for (const user of ["alice", "bob"]) {
          const receipts = (await allEvents(store, user)).filter((event) => event.kind.case === "receipt");
          expect(receipts).toHaveLength(1);
          const receipt = receipts[0]?.kind.case === "receipt" ? receipts[0].kind.value : undefined;
          expect(receipt).toMatchObject({ conversationId: id, userId: "bob", deliveredSeq: 1n, readSeq: 1n });
        }
      });

      it("rejects a mark above the last seq and applies nothing", async () => {
        const store = await fresh();
        const first = await direct(store, "alice", "bob");
        const second = await direct(store, "carol", "bob");
        await send(store, "alice", first, "m");
        await send(store, "carol", second, "m");
        const { detail } = await expectConnectError(
          acknowledgeMarks(store, "bob", [
            { conversationId: first, deliveredSeq: 1, readSeq: 1 },
            { conversationId: second, deliveredSeq: 0, readSeq: 2 },
          ]),
          Code.InvalidArgument,
          ErrorReason.FIELD_TOO_LARGE,
        );
        expect(detail?.field).toBe("marks[1].read_seq");
        expect(detail?.limit).toBe(1n);
        expect(await readSeqOf(store, "bob", first)).toBe(0n);
      });

      it("counts unread messages from others above the read mark", async () => {
        const store = await fresh();
        const id = await group(store, "alice", ["bob"]);
        for (let index = 0; index < 4; index++) await send(store, "alice", id, `a${index}`);
        await send(store, "bob", id, "from bob");
        expect((await store.getConversation("bob", id)).unreadCount).toBe(4n);
        expect((await store.getConversation("alice", id)).unreadCount).toBe(1n);
        await store.acknowledge({ userId: "bob", deviceId: "phone", cursorPosition: undefined, marks: [{ conversationId: id, deliveredSeq: 0, readSeq: 2 }] });
        expect((await store.getConversation("bob", id)).unreadCount).toBe(2n);
        await store.addMembers({ callerId: "alice", conversationId: id, userIds: ["carol"], maxMembers: MAX_MEMBERS });
        expect((await store.getConversation("carol", id)).unreadCount).toBe(0n);
        await send(store, "alice", id, "after carol joined");
        expect((await store.getConversation("carol", id)).unreadCount).toBe(1n);
      });

      it("rejects two marks for one conversation and applies nothing", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        await send(store, "alice", id, "m");
        const { detail } = await expectConnectError(
          acknowledgeMarks(store, "bob", [
            { conversationId: id, deliveredSeq: 1, readSeq: 1 },
            { conversationId: id, deliveredSeq: 0, readSeq: 1 },
          ]),
          Code.InvalidArgument,
          ErrorReason.FIELD_INVALID,
        );
        expect(detail?.field).toBe("marks[1].conversation_id");
        expect(await readSeqOf(store, "bob", id)).toBe(0n);
      });

      it("rejects marks on a conversation the user is not in", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        await expectConnectError(
          store.acknowledge({ userId: "mallory", deviceId: "d", cursorPosition: undefined, marks: [{ conversationId: id, deliveredSeq: 0, readSeq: 0 }] }),
          Code.NotFound,
          ErrorReason.CONVERSATION_NOT_FOUND,
        );
      });
    });

    describe("retention", () => {
      it("deletes old events and expires cursors before them", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        await send(store, "alice", id, "old");
        const deleted = await store.pruneEvents(Date.now() + 1000);
        expect(deleted).toBe(4);
        const bounds = await store.logBounds("bob");
        expect(bounds).toEqual({ head: 2, prunedThrough: 2 });
        expect(await store.readEvents("bob", 0, 10)).toEqual([]);
        expect(resolveCursor("cursor", "", store.logEpoch, bounds)).toBe(2);
        expect(resolveCursor("cursor", encodeCursor(store.logEpoch, 2), store.logEpoch, bounds)).toBe(2);
        await expectConnectError(
          Promise.resolve().then(() => resolveCursor("cursor", encodeCursor(store.logEpoch, 1), store.logEpoch, bounds)),
          Code.OutOfRange,
          ErrorReason.CURSOR_EXPIRED,
        );
        await send(store, "alice", id, "new");
        expect((await store.readEvents("bob", 2, 10)).map((event) => Number(event.position))).toEqual([3]);
      });

      it("keeps events newer than the cutoff", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        await send(store, "alice", id, "recent");
        expect(await store.pruneEvents(Date.now() - 60_000)).toBe(0);
        expect(await store.readEvents("bob", 0, 10)).toHaveLength(2);
      });
    });

    describe("conversations", () => {
      it("returns the existing direct conversation for a pair", async () => {
        const store = await fresh();
        const first = await direct(store, "alice", "bob");
        const again = await store.createConversation({ creatorId: "bob", kind: ConversationKind.DIRECT, memberIds: ["alice"], title: "", requestId: "", maxMembers: MAX_MEMBERS });
        expect(again.existing).toBe(true);
        expect(again.conversation.conversationId).toBe(first);
        expect((await allEvents(store, "alice")).filter((event) => event.kind.case === "conversation")).toHaveLength(1);
      });

      it("returns the same group for a repeated request id", async () => {
        const store = await fresh();
        const first = await group(store, "alice", ["bob"], "req-1");
        const again = await store.createConversation({ creatorId: "alice", kind: ConversationKind.GROUP, memberIds: ["bob"], title: "team", requestId: "req-1", maxMembers: MAX_MEMBERS });
        expect(again).toMatchObject({ existing: true });
        expect(again.conversation.conversationId).toBe(first);
        expect(await group(store, "alice", ["bob"], "req-2")).not.toBe(first);
        expect(await group(store, "bob", ["alice"], "req-1")).not.toBe(first);
      });

      it("lists members in user id order with their marks", async () => {
        const store = await fresh();
        const id = await group(store, "mia", ["zoe", "adam"]);
        const conversation = await store.getConversation("zoe", id);
        expect(conversation.members.map((member) => member.userId)).toEqual(["adam", "mia", "zoe"]);
        expect(conversation.kind).toBe(ConversationKind.GROUP);
        expect(conversation.title).toBe("team");
      });

      it("hides a conversation from non-members with one error", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        const missing = await expectConnectError(store.getConversation("mallory", uuidV7()), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
        const foreign = await expectConnectError(store.getConversation("mallory", id), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
        expect(foreign.error.message).toBe(missing.error.message);
        await expectConnectError(store.getHistory("mallory", id, { beforeSeq: 0, limit: 10 }), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
        await expectConnectError(send(store, "mallory", id, "hi"), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
        expect(await allEvents(store, "mallory")).toEqual([]);
      });

      it("rejects member changes on direct conversations", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        await expectConnectError(store.addMembers({ callerId: "alice", conversationId: id, userIds: ["carol"], maxMembers: MAX_MEMBERS }), Code.FailedPrecondition, ErrorReason.CONVERSATION_KIND);
        await expectConnectError(store.removeMembers({ callerId: "alice", conversationId: id, userIds: ["bob"] }), Code.FailedPrecondition, ErrorReason.CONVERSATION_KIND);
      });

      it("enforces the member limit", async () => {
        const store = await fresh();
        const id = await group(store, "alice", ["bob"]);
        const others = Array.from({ length: MAX_MEMBERS - 1 }, (_, index) => `user${index}`);
        const { detail } = await expectConnectError(
          store.addMembers({ callerId: "alice", conversationId: id, userIds: others, maxMembers: MAX_MEMBERS }),
          Code.ResourceExhausted,
          ErrorReason.TOO_MANY_MEMBERS,
        );
        expect(detail?.limit).toBe(BigInt(MAX_MEMBERS));
        expect((await store.getConversation("alice", id)).members).toHaveLength(2);
      });

      it("lets new members read only what follows their join", async () => {
        const store = await fresh();
        const id = await group(store, "alice", ["bob"]);
        await send(store, "alice", id, "before");
        const added = await store.addMembers({ callerId: "alice", conversationId: id, userIds: ["carol", "bob"], maxMembers: MAX_MEMBERS });
        expect(added.members.find((member) => member.userId === "carol")?.joinedAfterSeq).toBe(1n);
        await send(store, "alice", id, "after");
        const history = await store.getHistory("carol", id, { beforeSeq: 0, limit: 10 });
        expect(history.messages.map((message) => message.text)).toEqual(["after"]);
        expect(history.hasMore).toBe(false);
        const carol = await allEvents(store, "carol");
        expect(carol.map((event) => event.kind.case)).toEqual(["conversation", "message"]);
        const seenByCarol = await store.getConversation("carol", id);
        expect(seenByCarol.lastMessage?.text).toBe("after");
      });

      it("tells removed users they were removed", async () => {
        const store = await fresh();
        const id = await group(store, "alice", ["bob", "carol"]);
        const remaining = await store.removeMembers({ callerId: "alice", conversationId: id, userIds: ["bob", "nobody"] });
        expect(remaining?.members.map((member) => member.userId)).toEqual(["alice", "carol"]);
        const last = (await allEvents(store, "bob")).at(-1);
        expect(last?.kind.case).toBe("conversation");
        expect(last?.kind.case === "conversation" ? last.kind.value.removed : undefined).toBe(true);
        const carolLast = (await allEvents(store, "carol")).at(-1);
        expect(carolLast?.kind.case).toBe("conversation");
        expect(carolLast?.kind.case === "conversation" ? carolLast.kind.value.removed : undefined).toBe(false);
        await expectConnectError(send(store, "bob", id, "still here?"), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
        expect(await store.removeMembers({ callerId: "carol", conversationId: id, userIds: ["carol"] })).toBeUndefined();
      });

      it("pages the conversation list by latest activity", async () => {
        const store = await fresh();
        const ids: string[] = [];
        for (const other of ["b", "c", "d", "e"]) ids.push(await direct(store, "alice", other));
        await new Promise((resolve) => setTimeout(resolve, 5));
        await send(store, "alice", ids[1] ?? "", "bump");
        const seen: string[] = [];
        let after;
        for (let page = 0; page < 10; page++) {
          const result = await store.listConversations("alice", { limit: 3, after });
          seen.push(...result.conversations.map((conversation) => conversation.conversationId));
          after = result.next;
          if (after === undefined) break;
        }
        expect(seen).toHaveLength(4);
        expect(new Set(seen)).toEqual(new Set(ids));
        expect(seen[0]).toBe(ids[1]);
        expect((await store.listConversations("b", { limit: 10 })).conversations).toHaveLength(1);
      });
    });

    describe("history", () => {
      it("pages backwards in ascending order", async () => {
        const store = await fresh();
        const id = await direct(store, "alice", "bob");
        for (let index = 1; index <= 7; index++) await send(store, "alice", id, `m${index}`);
        const newest = await store.getHistory("bob", id, { beforeSeq: 0, limit: 3 });
        expect(newest.messages.map((message) => Number(message.seq))).toEqual([5, 6, 7]);
        expect(newest.hasMore).toBe(true);
        const older = await store.getHistory("bob", id, { beforeSeq: 5, limit: 3 });
        expect(older.messages.map((message) => Number(message.seq))).toEqual([2, 3, 4]);
        const oldest = await store.getHistory("bob", id, { beforeSeq: 2, limit: 3 });
        expect(oldest.messages.map((message) => Number(message.seq))).toEqual([1]);
        expect(oldest.hasMore).toBe(false);
      });
    });
  });
}
