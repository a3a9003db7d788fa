import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";
import { afterAll, describe, expect, it } from "vitest";
import type { ServerOptions } from "../src/index.js";
import { expectConnectError } from "./support/errors.js";
import { testSchemas } from "./support/postgres.js";
import { directConversation, send, startTestServer, type TestServer, type UserClients } from "./support/server.js";
import { requireService, TEST_DATABASE_URL } from "./support/services.js";

const postgresAvailable = await requireService("PostgreSQL");
const schemas = testSchemas();
afterAll(() => schemas.dropAll());

const stores: { name: string; available: boolean; options: () => ServerOptions }[] = [
  { name: "SQLite", available: true, options: () => ({}) },
  {
    name: "PostgreSQL",
    available: postgresAvailable,
    options: () => ({ databaseUrl: TEST_DATABASE_URL, databaseSchema: schemas.next(), databasePoolMax: 2 }),
  },
];

function texts(page: { events: { kind: { case: string | undefined; value?: unknown } }[] }): string[] {
  return page.events.flatMap((event) =>
    event.kind.case === "message" ? [(event.kind.value as { message?: { text: string } }).message?.text ?? ""] : [],
  );
}

/** Starts a server on the store, runs `run`, and closes the server. */
async function withServer(options: ServerOptions, run: (test: TestServer) => Promise<void>): Promise<void> {
  const test = await startTestServer(options);
  try {
    await run(test);
  } finally {
    await test.close();
  }
}

async function sendMany(from: UserClients, conversationId: string, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i++) await send(from, conversationId, `${prefix} ${i}`);
}

for (const store of stores) {
  describe.skipIf(!store.available)(`Sync from_end on ${store.name}`, () => {
    it("returns the head cursor and no events", async () => {
      await withServer(store.options(), async (test) => {
        const alice = await test.as("end-alice");
        const bob = await test.as("end-bob");
        const id = await directConversation(alice, bob.userId);
        await sendMany(alice, id, 5, "before");

        const end = await bob.chat.sync({ deviceId: "phone", fromEnd: true, limit: 2 });
        expect(end.events).toEqual([]);
        expect(end.hasMore).toBe(false);
        expect(end.nextCursor).not.toBe("");

        const none = await bob.chat.sync({ deviceId: "phone", cursor: end.nextCursor });
        expect(none.events).toEqual([]);
        expect(none.hasMore).toBe(false);

        await send(alice, id, "after");
        const later = await bob.chat.sync({ deviceId: "phone", cursor: end.nextCursor });
        expect(texts(later)).toEqual(["after"]);
        const whole = await bob.chat.sync({ deviceId: "phone" });
        expect(texts(whole)).toEqual(["before 0", "before 1", "before 2", "before 3", "before 4", "after"]);
        expect(later.events[0]?.position).toBe(whole.events[whole.events.length - 1]?.position);
      });
    });

    it("returns a usable cursor for an empty log", async () => {
      await withServer(store.options(), async (test) => {
        const carol = await test.as("end-carol");
        const end = await carol.chat.sync({ deviceId: "phone", fromEnd: true });
        expect(end.events).toEqual([]);
        expect(end.hasMore).toBe(false);

        const dave = await test.as("end-dave");
        await directConversation(dave, carol.userId);
        const later = await carol.chat.sync({ deviceId: "phone", cursor: end.nextCursor });
        expect(later.events.map((event) => event.kind.case)).toEqual(["conversation"]);
        expect(later.events[0]?.position).toBe(1n);
      });
    });

    it("wakes a long-poll from its cursor", async () => {
      await withServer(store.options(), async (test) => {
        const alice = await test.as("poll-alice");
        const bob = await test.as("poll-bob");
        const id = await directConversation(alice, bob.userId);
        const end = await bob.chat.sync({ deviceId: "phone", fromEnd: true });

        const waiting = bob.chat.sync({ deviceId: "phone", cursor: end.nextCursor, waitMs: 5_000 });
        await new Promise((resolve) => setTimeout(resolve, 100));
        await send(alice, id, "woke");
        expect(texts(await waiting)).toEqual(["woke"]);
      });
    });

    it("rejects a cursor", async () => {
      await withServer(store.options(), async (test) => {
        const bob = await test.as("bad-bob");
        const start = await bob.chat.sync({ deviceId: "phone" });
        const { error, detail } = await expectConnectError(
          bob.chat.sync({ deviceId: "phone", cursor: start.nextCursor, fromEnd: true }),
          Code.InvalidArgument,
          ErrorReason.FIELD_INVALID,
        );
        expect(detail?.field).toBe("cursor");
        expect(error.rawMessage).toContain("from_end");
      });
    });

    it("rejects a long-poll wait", async () => {
      await withServer(store.options(), async (test) => {
        const bob = await test.as("wait-bob");
        const { error, detail } = await expectConnectError(
          bob.chat.sync({ deviceId: "phone", waitMs: 1_000, fromEnd: true }),
          Code.InvalidArgument,
          ErrorReason.FIELD_INVALID,
        );
        expect(detail?.field).toBe("wait_ms");
        expect(error.rawMessage).toContain("wait_ms is 1000");
      });
    });

    it("still checks the device id", async () => {
      await withServer(store.options(), async (test) => {
        const bob = await test.as("device-bob");
        await expectConnectError(bob.chat.sync({ deviceId: "", fromEnd: true }), Code.InvalidArgument, ErrorReason.FIELD_INVALID);
      });
    });

    it("returns the head after retention pruned the log", async () => {
      await withServer({ ...store.options(), retentionSeconds: 1, pruneIntervalMs: 100 }, async (test) => {
        const alice = await test.as("pruned-alice");
        const bob = await test.as("pruned-bob");
        const id = await directConversation(alice, bob.userId);
        await sendMany(alice, id, 3, "old");
        await new Promise((resolve) => setTimeout(resolve, 1_600));
        expect((await bob.chat.sync({ deviceId: "phone" })).events).toEqual([]);

        const end = await bob.chat.sync({ deviceId: "phone", fromEnd: true });
        expect(end.events).toEqual([]);
        await send(alice, id, "new");
        const later = await bob.chat.sync({ deviceId: "phone", cursor: end.nextCursor });
        expect(texts(later)).toEqual(["new"]);
        expect(later.events[0]?.position).toBe(5n);
      });
    });
  });
}
