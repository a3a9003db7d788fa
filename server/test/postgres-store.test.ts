import { Code } from "@connectrpc/connect";
import { toBinary } from "@bufbuild/protobuf";
import { ConversationKind, ErrorReason, EventSchema, type Event } from "@chatwire/gen";
import { Client } from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { uuidV7 } from "../src/ids.js";
import { LATEST_VERSION } from "../src/store/postgres/migrations.js";
import { PRUNE_EVENTS_PER_STEP, PRUNE_LOGS_PER_STEP } from "../src/store/postgres/event-log.js";
import {
  migratePostgres,
  openPostgresStore,
  type PostgresStore,
  type PostgresStoreOptions,
} from "../src/store/postgres/postgres-store.js";
import type { Store } from "../src/store/types.js";
import { messageEvent } from "../src/store/views.js";
import { expectConnectError } from "./support/errors.js";
import { createDirect, createGroup, sendText } from "./support/store.js";
import { describeStoreContract } from "./store-contract.js";
import { adminQuery, testSchemas } from "./support/postgres.js";
import { requireService, TEST_DATABASE_URL } from "./support/services.js";

const available = await requireService("PostgreSQL");
const schemas = testSchemas();
afterAll(() => schemas.dropAll());


describe.skipIf(!available)("PostgreSQL", () => {
  describeStoreContract("postgres", (observer) => {
    const schema = schemas.next();
    return openPostgresStore({
      connectionString: TEST_DATABASE_URL,
      schema,
      applicationName: schema,
      pool: { max: 4 },
      observer,
    });
  });

  describe("PostgreSQL store", () => {
    const open: Store[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((store) => store.close()));
    });

    async function openStore(schema: string, options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
      const store = await openPostgresStore({
        connectionString: TEST_DATABASE_URL,
        schema,
        applicationName: schema,
        pool: { max: 3 },
        ...options,
      });
      open.push(store);
      return store;
    }

    function messageSeqs(events: Event[]): number[] {
      return events.flatMap((event) => (event.kind.case === "message" ? [Number(event.kind.value.message?.seq)] : []));
    }

    describe("migrations", () => {
      it("applies each once when 5 nodes open together", async () => {
        const schema = schemas.next();
        const stores = await Promise.all(Array.from({ length: 5 }, () => openStore(schema, { pool: { max: 1 } })));
        expect(new Set(stores.map((store) => store.logEpoch)).size).toBe(1);
        const rows = await adminQuery<{ version: number; count: string }>(
          `SELECT version, count(*) AS count FROM ${schema}.schema_migrations GROUP BY version ORDER BY version`,
        );
        expect(rows.map((row) => row.version)).toEqual(Array.from({ length: LATEST_VERSION }, (_, index) => index + 1));
        expect(rows.every((row) => row.count === "1")).toBe(true);
        const epochs = await adminQuery(`SELECT value FROM ${schema}.store_meta WHERE key = 'log_epoch'`);
        expect(epochs).toHaveLength(1);
      });

      it("runs alone and reports what it applied", async () => {
        const schema = schemas.next();
        const first = await migratePostgres({ connectionString: TEST_DATABASE_URL, schema });
        expect(first).toEqual({ applied: [1, 2], version: LATEST_VERSION });
        const again = await migratePostgres({ connectionString: TEST_DATABASE_URL, schema });
        expect(again).toEqual({ applied: [], version: LATEST_VERSION });
      });

      it("keeps the log epoch across reopening", async () => {
        const schema = schemas.next();
        const first = await openStore(schema);
        const second = await openStore(schema);
        expect(second.logEpoch).toBe(first.logEpoch);
      });

      it("rejects a schema newer than the code", async () => {
        const schema = schemas.next();
        await migratePostgres({ connectionString: TEST_DATABASE_URL, schema });
        await adminQuery(`INSERT INTO ${schema}.schema_migrations (version, name) VALUES (999, 'from the future')`);
        await expect(openStore(schema)).rejects.toThrow(/has version 999, newer than this server's/);
      });

      it("rejects an invalid schema name", async () => {
        await expect(openStore("Chatwire; DROP")).rejects.toThrow(/schema is "Chatwire; DROP"; use 1 to 63 characters/);
      });
    });

    describe("several nodes", () => {
      it("keeps seqs and positions gapless with 8 writers on 3 nodes", async () => {
        const schema = schemas.next();
        const nodes = [await openStore(schema), await openStore(schema), await openStore(schema)];
        const writers = Array.from({ length: 8 }, (_, index) => `writer${index}`);
        const [first, ...others] = writers as [string, ...string[]];
        const id = await createGroup(nodes[0] as Store, first, others);
        const perWriter = 25;

        const sent = await Promise.all(
          writers.map(async (writer, index) => {
            const node = nodes[index % nodes.length] as Store;
            const seqs: number[] = [];
            for (let count = 0; count < perWriter; count++) {
              const result = await sendText(node, writer, id, `${writer} ${count}`);
              seqs.push(Number(result.message.seq));
            }
            return seqs;
          }),
        );

        const total = writers.length * perWriter;
        const allSeqs = sent.flat().sort((a, b) => a - b);
        expect(allSeqs).toEqual(Array.from({ length: total }, (_, index) => index + 1));
        for (const seqs of sent) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect((await (nodes[1] as Store).getConversation(first, id)).lastSeq).toBe(BigInt(total));

        for (const writer of writers) {
          const events = await (nodes[2] as Store).readEvents(writer, 0, 10_000);
          const positions = events.map((event) => Number(event.position));
          expect(positions).toEqual(Array.from({ length: total + 1 }, (_, index) => index + 1));
          expect(messageSeqs(events)).toEqual(Array.from({ length: total }, (_, index) => index + 1));
          expect((await (nodes[0] as Store).logBounds(writer)).head).toBe(total + 1);
        }
      });

      it("stores concurrent duplicates from 3 nodes once", async () => {
        const schema = schemas.next();
        const nodes = [await openStore(schema), await openStore(schema), await openStore(schema)];
        const id = await createDirect(nodes[0] as Store, "alice", "bob");
        const key = uuidV7();
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, index) => sendText(nodes[index % 3] as Store, "alice", id, "same", key)),
        );
        expect(results.filter((result) => !result.replayed)).toHaveLength(1);
        expect(new Set(results.map((result) => result.message.messageId)).size).toBe(1);
        expect(new Set(results.map((result) => result.message.seq))).toEqual(new Set([1n]));
        const bobEvents = await (nodes[1] as Store).readEvents("bob", 0, 100);
        expect(messageSeqs(bobEvents)).toEqual([1]);
      });

      it("rejects racing duplicates with other text", async () => {
        const schema = schemas.next();
        const nodes = [await openStore(schema), await openStore(schema), await openStore(schema)];
        const id = await createDirect(nodes[0] as Store, "alice", "bob");
        const key = uuidV7();
        const outcomes = await Promise.allSettled(
          Array.from({ length: 6 }, (_, index) =>
            sendText(nodes[index % 3] as Store, "alice", id, index % 2 === 0 ? "first text" : "second text", key),
          ),
        );
        const stored = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
        const rejected = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason] : []));
        expect(stored.filter((result) => !result.replayed)).toHaveLength(1);
        expect(new Set(stored.map((result) => result.message.text)).size).toBe(1);
        expect(stored.length + rejected.length).toBe(6);
        for (const reason of rejected) {
          await expectConnectError(Promise.reject(reason), Code.AlreadyExists, ErrorReason.IDEMPOTENCY_KEY_REUSED);
        }
        expect((await (nodes[2] as Store).getConversation("bob", id)).lastSeq).toBe(1n);
      });

      it("shows one node's commits to another at once", async () => {
        const schema = schemas.next();
        const [writer, reader] = [await openStore(schema), await openStore(schema)];
        const id = await createDirect(writer, "alice", "bob");
        await sendText(writer, "alice", id, "hello");
        await (reader as Store).acknowledge({
          userId: "bob",
          deviceId: "phone",
          cursorPosition: 2,
          marks: [{ conversationId: id, deliveredSeq: 1, readSeq: 1 }],
        });
        const seen = await writer.getConversation("alice", id);
        expect(seen.members.find((member) => member.userId === "bob")?.readSeq).toBe(1n);
        const receipts = (await writer.readEvents("alice", 0, 10)).filter((event) => event.kind.case === "receipt");
        expect(receipts).toHaveLength(1);
      });
    });

    describe("stored values", () => {
      it("stores text with U+0000 byte for byte", async () => {
        const store = await openStore(schemas.next());
        const id = await createDirect(store, "alice", "bob");
        const text = "a\u0000b \u{1F600}";
        await sendText(store, "alice", id, text);
        const history = await store.getHistory("bob", id, { beforeSeq: 0, limit: 10 });
        expect(Buffer.from(history.messages[0]?.text ?? "")).toEqual(Buffer.from(text));
        const created = await store.createConversation({
          creatorId: "alice",
          kind: ConversationKind.GROUP,
          memberIds: ["bob"],
          title: "nul\u0000title",
          requestId: "",
          maxMembers: 10,
        });
        expect(created.conversation.title).toBe("nul\u0000title");
      });

      it("reports ids with U+0000 as not found", async () => {
        const store = await openStore(schemas.next());
        const bad = "conversation\u0000id";
        await expectConnectError(store.getConversation("alice", bad), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
        await expectConnectError(sendText(store, "alice", bad, "hi"), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
        await expectConnectError(
          store.getHistory("alice", bad, { beforeSeq: 0, limit: 10 }),
          Code.NotFound,
          ErrorReason.CONVERSATION_NOT_FOUND,
        );
        const { detail } = await expectConnectError(
          store.acknowledge({
            userId: "alice",
            deviceId: "d",
            cursorPosition: undefined,
            marks: [{ conversationId: bad, deliveredSeq: 0, readSeq: 0 }],
          }),
          Code.NotFound,
          ErrorReason.CONVERSATION_NOT_FOUND,
        );
        expect(detail?.field).toBe("marks[0].conversation_id");
      });
    });

    describe("hot paths", () => {
      /** Counts the statements every pg Client sends while `call` runs; each is one round trip. */
      async function countRoundTrips<T>(call: () => Promise<T>): Promise<{ value: T; roundTrips: number }> {
        const original = Client.prototype.query;
        let roundTrips = 0;
        Client.prototype.query = function (this: Client, ...args: unknown[]) {
          roundTrips++;
          return (original as (...values: unknown[]) => unknown).apply(this, args);
        } as typeof original;
        try {
          const value = await call();
          return { value, roundTrips };
        } finally {
          Client.prototype.query = original;
        }
      }

      it("sends and replays in one round trip", async () => {
        const store = await openStore(schemas.next());
        const id = await createDirect(store, "alice", "bob");
        const key = uuidV7();
        const sent = await countRoundTrips(() => sendText(store, "alice", id, "hello", key));
        expect(sent.value.replayed).toBe(false);
        expect(sent.roundTrips).toBe(1);
        const replayed = await countRoundTrips(() => sendText(store, "alice", id, "hello", key));
        expect(replayed.value.replayed).toBe(true);
        expect(replayed.value.message).toEqual(sent.value.message);
        expect(replayed.roundTrips).toBe(1);
        const notFound = await countRoundTrips(() =>
          expectConnectError(sendText(store, "mallory", id, "hi"), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND),
        );
        expect(notFound.roundTrips).toBe(1);
      });

      it("acknowledges a mark in 8 round trips", async () => {
        const store = await openStore(schemas.next());
        const id = await createDirect(store, "alice", "bob");
        await sendText(store, "alice", id, "one");
        await sendText(store, "alice", id, "two");
        const acknowledged = await countRoundTrips(() =>
          store.acknowledge({
            userId: "bob",
            deviceId: "phone",
            cursorPosition: 3,
            marks: [{ conversationId: id, deliveredSeq: 2, readSeq: 1 }],
          }),
        );
        expect(acknowledged.value).toEqual([{ conversationId: id, deliveredSeq: 2, readSeq: 1 }]);
        expect(acknowledged.roundTrips).toBe(8);
        expect((await store.getConversation("bob", id)).unreadCount).toBe(1n);
        const receipts = (await store.readEvents("alice", 0, 10)).filter((event) => event.kind.case === "receipt");
        expect(receipts).toHaveLength(1);
      });

      it("stores the payload toBinary encodes", async () => {
        const schema = schemas.next();
        const store = await openStore(schema);
        const id = await createDirect(store, "alice", "bob");
        // Seqs whose varints take 1, 2, 3 and 6 bytes, and a text longer than 127 bytes.
        for (const lastSeq of [0, 126, 127, 16_383, 2 ** 35]) {
          await adminQuery(`UPDATE ${schema}.conversations SET last_seq = $1 WHERE conversation_id = $2`, [lastSeq, id]);
          const text = `seq ${lastSeq + 1} ${"\u{1F600}".repeat(lastSeq % 50)}`;
          const { message } = await sendText(store, "alice", id, text);
          expect(message.seq).toBe(BigInt(lastSeq + 1));
          const rows = await adminQuery<{ user_id: string; payload: Buffer }>(
            `SELECT e.user_id, e.payload FROM ${schema}.events e
               JOIN ${schema}.user_logs l ON l.user_id = e.user_id AND l.head = e.position ORDER BY e.user_id`,
          );
          expect(rows.map((row) => row.user_id)).toEqual(["alice", "bob"]);
          const expected = Buffer.from(toBinary(EventSchema, messageEvent(message)));
          for (const row of rows) expect(row.payload.equals(expected), `payload of ${row.user_id} at seq ${lastSeq + 1}`).toBe(true);
        }
      });

      it("frees the key when the send is rejected", async () => {
        const schema = schemas.next();
        const store = await openStore(schema);
        const theirs = await createDirect(store, "bob", "carol");
        const mine = await createDirect(store, "alice", "bob");
        const key = uuidV7();
        await expectConnectError(sendText(store, "alice", theirs, "hi", key), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
        await expectConnectError(
          sendText(store, "alice", "missing", "hi", key),
          Code.NotFound,
          ErrorReason.CONVERSATION_NOT_FOUND,
        );
        expect((await store.getConversation("bob", theirs)).lastSeq).toBe(0n);
        const sent = await sendText(store, "alice", mine, "hi", key);
        expect(sent.replayed).toBe(false);
        expect(sent.message.seq).toBe(1n);
        const keys = await adminQuery(`SELECT seq FROM ${schema}.message_keys WHERE client_message_id = $1`, [key]);
        expect(keys).toEqual([{ seq: "1" }]);
      });
    });

    describe("retention", () => {
      it("prunes more logs than one step in several steps", async () => {
        const store = await openStore(schemas.next(), { pool: { max: 4 } });
        const others = Array.from({ length: PRUNE_LOGS_PER_STEP + 20 }, (_, index) => `user${index}`);
        for (const other of others) await createDirect(store, "alice", other);
        const progress: number[] = [];
        const deleted = await store.pruneEvents(Date.now() + 1000, (deletedSoFar) => progress.push(deletedSoFar));
        expect(deleted).toBe(others.length * 2);
        expect(progress.length).toBeGreaterThanOrEqual(2);
        expect(progress.at(-1)).toBe(deleted);
        expect(await store.logBounds("alice")).toEqual({ head: others.length, prunedThrough: others.length });
        expect(await store.logBounds("user7")).toEqual({ head: 1, prunedThrough: 1 });
        expect(await store.readEvents("alice", 0, 10)).toEqual([]);
      });

      it("prunes a large backlog of one log in several steps", async () => {
        const schema = schemas.next();
        const store = await openStore(schema);
        const backlog = PRUNE_EVENTS_PER_STEP * 2 + 500;
        await adminQuery(`INSERT INTO ${schema}.user_logs (user_id, head, pruned_through) VALUES ('backlog', $1, 0)`, [backlog]);
        await adminQuery(
          `INSERT INTO ${schema}.events (user_id, position, created_at, payload)
           SELECT 'backlog', g, g, '\\x' FROM generate_series(1, $1::bigint) AS g`,
          [backlog],
        );
        const progress: number[] = [];
        const deleted = await store.pruneEvents(Date.now(), (deletedSoFar) => progress.push(deletedSoFar));
        expect(deleted).toBe(backlog);
        expect(progress).toEqual([PRUNE_EVENTS_PER_STEP, PRUNE_EVENTS_PER_STEP * 2, backlog]);
        expect(await store.logBounds("backlog")).toEqual({ head: backlog, prunedThrough: backlog });
      });
    });
  });
});
