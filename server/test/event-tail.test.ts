import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { ConversationKind, EventSchema, type Event } from "@chatwire/gen";
import { afterAll, describe, expect, it } from "vitest";
import { uuidV7 } from "../src/ids.js";
import { EventTail } from "../src/store/event-tail.js";
import type { EventTailLimits } from "../src/store/event-tail.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { Store } from "../src/store/types.js";
import { tempDir } from "./support/server.js";

const dir = tempDir("chatwire-tail-");
afterAll(() => dir.remove());
let files = 0;

const USERS = ["alice", "bob", "carol"] as const;
const OFF: EventTailLimits = { perLog: 0, total: 0 };

function bytes(events: Event[]): string[] {
  return events.map((event) => Buffer.from(toBinary(EventSchema, event)).toString("hex"));
}

function positions(events: Event[]): number[] {
  return events.map((event) => Number(event.position));
}

async function conversations(store: Store): Promise<string[]> {
  const ids: string[] = [];
  for (const [creator, others, kind] of [
    ["alice", ["bob"], ConversationKind.DIRECT],
    ["alice", ["carol"], ConversationKind.DIRECT],
    ["bob", ["alice", "carol"], ConversationKind.GROUP],
  ] as const) {
    const created = await store.createConversation({
      creatorId: creator,
      kind,
      memberIds: [...others],
      title: "",
      requestId: "",
      maxMembers: 10,
    });
    ids.push(created.conversation.conversationId);
  }
  return ids;
}

/**
 * Every read a live reader could make right now: after each position from 0
 * to the head, with a small and a large limit. Returns them keyed by user,
 * position and limit, as encoded events.
 */
async function readAll(store: Store, reads: Map<string, string[]>): Promise<void> {
  for (const userId of USERS) {
    const { head } = await store.logBounds(userId);
    for (let after = 0; after <= head; after++) {
      for (const limit of [2, 1000]) {
        const events = await store.readEvents(userId, after, limit);
        const expected = Array.from({ length: Math.min(limit, head - after) }, (_, index) => after + 1 + index);
        // Never a skipped or a repeated position.
        expect(positions(events)).toEqual(expected);
        reads.set(`${userId} ${after} ${limit}`, bytes(events));
      }
    }
  }
}

describe("event tail", () => {
  it("restarts gapped logs, evicts oldest log", () => {
    const tail = new EventTail({ perLog: 3, total: 4 });
    const entry = (position: number) => ({ position, payload: new Uint8Array(), template: undefined, event: undefined });
    for (const position of [1, 2, 3, 4]) tail.append("alice", entry(position));
    expect(positions(tail.read("alice", 1, 10) ?? [])).toEqual([2, 3, 4]);
    expect(tail.read("alice", 0, 10)).toBeUndefined();
    tail.append("alice", entry(9));
    expect(tail.read("alice", 4, 10)).toBeUndefined();
    expect(positions(tail.read("alice", 8, 10) ?? [])).toEqual([9]);
    for (const position of [1, 2, 3]) tail.append("bob", entry(position));
    tail.append("carol", entry(1));
    expect(tail.read("alice", 8, 10)).toBeUndefined();
    expect(tail.size).toBe(4);
    tail.dropThrough("bob", 2);
    expect(tail.read("bob", 1, 10)).toBeUndefined();
    expect(positions(tail.read("bob", 2, 10) ?? [])).toEqual([3]);
  });

  it("live reads match the database", async () => {
    const path = join(dir.path, `store-${files++}.sqlite`);
    const store = openSqliteStore({ path, eventTail: { perLog: 6, total: 14 } });
    const ids = await conversations(store);
    const live = new Map<string, string[]>();
    let fromMemory = 0;
    for (let round = 0; round < 30; round++) {
      // Several writes in one turn commit together, one of them failing.
      const writes: Array<Promise<unknown>> = [];
      for (let index = 0; index <= round % 4; index++) {
        const conversationId = ids[(round + index) % ids.length] as string;
        const senderId = conversationId === ids[1] ? "carol" : "alice";
        writes.push(
          store.sendMessage({ senderId, senderDeviceId: "d1", conversationId, clientMessageId: uuidV7(), text: `m${round}` }),
        );
      }
      if (round % 3 === 0) {
        writes.push(
          store.sendMessage({ senderId: "bob", senderDeviceId: "d1", conversationId: ids[1] as string, clientMessageId: uuidV7(), text: "not a member" }),
        );
      }
      if (round % 5 === 0) {
        writes.push(
          store.acknowledge({ userId: "bob", deviceId: "d1", cursorPosition: undefined, marks: [{ conversationId: ids[0] as string, deliveredSeq: 1, readSeq: 1 }] }),
        );
      }
      await Promise.allSettled(writes);
      const { head } = await store.logBounds("alice");
      const first = await store.readEvents("alice", head - 1, 10);
      const again = await store.readEvents("alice", head - 1, 10);
      if (first[0] !== undefined && first[0] === again[0]) fromMemory += 1;
      await readAll(store, live);
    }
    // Three logs of up to 6 events share 14 places, so some reads of alice's log fall back.
    expect(fromMemory).toBeGreaterThan(15);
    await store.close();

    const truth = openSqliteStore({ path, eventTail: OFF });
    const stored = new Map<string, string[]>();
    await readAll(truth, stored);
    await truth.close();
    expect(live.size).toBeGreaterThan(100);
    for (const [key, events] of live) {
      expect(events, key).toEqual(stored.get(key) ?? (events.length === 0 ? [] : undefined));
    }
  });

  it("falls back after eviction and restart", async () => {
    const path = join(dir.path, `store-${files++}.sqlite`);
    const store = openSqliteStore({ path, eventTail: { perLog: 4, total: 4 } });
    const [aliceBob, aliceCarol] = (await conversations(store)) as [string, string];
    const send = (senderId: string, conversationId: string) =>
      store.sendMessage({ senderId, senderDeviceId: "d1", conversationId, clientMessageId: uuidV7(), text: "hi" });
    await send("alice", aliceBob);
    await send("alice", aliceBob);
    const bobHead = (await store.logBounds("bob")).head;
    const cached = await store.readEvents("bob", bobHead - 1, 10);
    expect((await store.readEvents("bob", bobHead - 1, 10))[0]).toBe(cached[0]);
    // Four events for alice and carol push bob's log out of the tail.
    await send("carol", aliceCarol);
    await send("carol", aliceCarol);
    const evicted = await store.readEvents("bob", bobHead - 1, 10);
    expect(evicted[0]).not.toBe(cached[0]);
    expect(bytes(evicted)).toEqual(bytes(cached));
    const whole = await store.readEvents("bob", 0, 1000);
    expect(positions(whole)).toEqual(Array.from({ length: bobHead }, (_, index) => index + 1));
    await store.close();

    const reopened = openSqliteStore({ path, eventTail: { perLog: 4, total: 4 } });
    expect(bytes(await reopened.readEvents("bob", 0, 1000))).toEqual(bytes(whole));
    await reopened.sendMessage({ senderId: "bob", senderDeviceId: "d1", conversationId: aliceBob, clientMessageId: uuidV7(), text: "back" });
    const after = await reopened.readEvents("bob", 0, 1000);
    expect(positions(after)).toEqual(Array.from({ length: bobHead + 1 }, (_, index) => index + 1));
    const newest = await reopened.readEvents("bob", bobHead, 10);
    expect((await reopened.readEvents("bob", bobHead, 10))[0]).toBe(newest[0]);
    expect(bytes(newest)).toEqual(bytes(after.slice(bobHead)));
    await reopened.close();
  });

  it("forgets pruned events", async () => {
    const path = join(dir.path, `store-${files++}.sqlite`);
    const store = openSqliteStore({ path });
    const [aliceBob] = (await conversations(store)) as [string];
    for (let index = 0; index < 3; index++) {
      await store.sendMessage({ senderId: "alice", senderDeviceId: "d1", conversationId: aliceBob, clientMessageId: uuidV7(), text: "old" });
    }
    await store.pruneEvents(Date.now() + 1000);
    const bounds = await store.logBounds("bob");
    expect(bounds.prunedThrough).toBe(bounds.head);
    expect(await store.readEvents("bob", 0, 1000)).toEqual([]);
    await store.close();
  });
});
