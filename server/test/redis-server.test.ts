import { randomUUID } from "node:crypto";
import type { SubscribeResponse } from "@chatwire/gen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../src/index.js";
import { runServerCommand } from "./support/command.js";
import { captureLogs } from "./support/logs.js";
import { testSchemas } from "./support/postgres.js";
import {
  SECRET,
  directConversation,
  eventually,
  send,
  startTestServer,
  tempDir,
  type TestServer,
  type UserClients,
} from "./support/server.js";
import { TEST_DATABASE_URL, TEST_REDIS_URL, requireService } from "./support/services.js";

const postgresAvailable = await requireService("PostgreSQL");
const redisAvailable = await requireService("Redis");

const WITHOUT_DATABASE = "redisUrl is set without databaseUrl. Servers that share Redis must share a PostgreSQL store";

describe("redisUrl option", () => {
  it("is rejected without databaseUrl", async () => {
    const dir = tempDir();
    try {
      await expect(startServer({ port: 0, dataDir: dir.path, jwtSecret: SECRET, redisUrl: TEST_REDIS_URL })).rejects.toThrow(
        WITHOUT_DATABASE,
      );
    } finally {
      dir.remove();
    }
  });

  it("is rejected when it is not a Redis URL", async () => {
    const dir = tempDir();
    try {
      const starting = startServer({
        port: 0,
        dataDir: dir.path,
        jwtSecret: SECRET,
        databaseUrl: TEST_DATABASE_URL,
        redisUrl: "http://user:not-logged@127.0.0.1:6379",
      });
      const error = await starting.then(
        () => undefined,
        (caught: unknown) => caught as Error,
      );
      expect(error?.message).toMatch(/^redisUrl is not a Redis URL; expected redis:\/\//);
      expect(error?.message).not.toContain("not-logged");
    } finally {
      dir.remove();
    }
  });

  it("makes the command exit 2 without a database URL", async () => {
    const dir = tempDir();
    try {
      const fromFlag = runServerCommand(["--port", "0", "--jwt-secret", SECRET, "--data-dir", dir.path, "--redis-url", TEST_REDIS_URL], {
        CHATWIRE_DATABASE_URL: "",
      });
      expect(await fromFlag.exited, fromFlag.output()).toBe(2);
      expect(fromFlag.output()).toContain(
        "--redis-url (CHATWIRE_REDIS_URL) is set without --database-url (CHATWIRE_DATABASE_URL). Servers that share Redis must share a PostgreSQL store",
      );

      const fromEnvironment = runServerCommand(["--port", "0", "--jwt-secret", SECRET, "--data-dir", dir.path], {
        CHATWIRE_DATABASE_URL: "",
        CHATWIRE_REDIS_URL: TEST_REDIS_URL,
      });
      expect(await fromEnvironment.exited, fromEnvironment.output()).toBe(2);
      expect(fromEnvironment.output()).toContain("--redis-url (CHATWIRE_REDIS_URL) is set without --database-url");
    } finally {
      dir.remove();
    }
  }, 30_000);

  it("is documented in --help", async () => {
    const help = runServerCommand(["--help"]);
    expect(await help.exited).toBe(0);
    expect(help.output()).toContain("--redis-url <url>");
    expect(help.output()).toContain("CHATWIRE_REDIS_URL");
    expect(help.output()).toContain("--redis-channel-prefix <prefix>");
  }, 30_000);
});

describe.skipIf(!postgresAvailable || !redisAvailable)("two servers sharing PostgreSQL and Redis", () => {
  // A heartbeat far longer than every wait below: events can only arrive in
  // time through Redis, not through the heartbeat's re-read of the store.
  const HEARTBEAT_MS = 60_000;
  const schemas = testSchemas();
  const prefix = `chatwire_test_${randomUUID()}:`;
  const logsB = captureLogs();
  let nodeA: TestServer;
  let nodeB: TestServer;

  beforeAll(async () => {
    const shared = {
      databaseUrl: TEST_DATABASE_URL,
      databaseSchema: schemas.next(),
      redisUrl: TEST_REDIS_URL,
      redisChannelPrefix: prefix,
      heartbeatMs: HEARTBEAT_MS,
    };
    nodeA = await startTestServer(shared);
    nodeB = await startTestServer({ ...shared, logger: logsB.logger });
  });
  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
    await schemas.dropAll();
  });

  /** Reads one sample from GET /metrics of a server. */
  async function metric(server: TestServer, name: string): Promise<number> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1]);
  }

  it("logs the Redis fan-out at start", () => {
    const started = logsB.lines.find((line) => line.msg === "chatwire server listening");
    expect(started).toMatchObject({ store: "postgres", fanOut: "redis", redis: "127.0.0.1:6379", channelPrefix: prefix });
    expect(["sharded", "classic"]).toContain(started?.pubSub);
  });

  it("delivers to a stream on the other server", async () => {
    const alice = await nodeA.as("stream-alice");
    const bob = await nodeB.as("stream-bob");
    const id = await directConversation(alice, bob.userId);
    const texts: string[] = [];
    const frames: SubscribeResponse[] = [];
    const abort = new AbortController();
    const reading = (async () => {
      for await (const frame of bob.chat.subscribe({ deviceId: "d" }, { signal: abort.signal })) {
        frames.push(frame);
        if (frame.kind.case !== "batch") continue;
        for (const event of frame.kind.value.events) {
          if (event.kind.case === "message") texts.push(event.kind.value.message?.text ?? "");
        }
      }
    })().catch(() => {});
    await eventually(() => frames.length > 0, 5000, "the first heartbeat");

    const lagBefore = await metric(nodeB, "chatwire_fanout_lag_seconds_count");
    await send(alice, id, "first across servers");
    await eventually(() => texts.includes("first across servers"), 5000, "the first message on node B");
    await send(alice, id, "second across servers");
    await eventually(() => texts.includes("second across servers"), 5000, "the second message on node B");
    abort.abort();
    await reading;

    expect(texts).toEqual(["first across servers", "second across servers"]);
    expect(await metric(nodeB, "chatwire_fanout_lag_seconds_count")).toBeGreaterThan(lagBefore);
    expect(await metric(nodeB, "chatwire_fanout_connected")).toBe(1);
    expect(await metric(nodeA, "chatwire_fanout_publish_failures_total")).toBe(0);
  });

  it("wakes a long-poll Sync on the other server", async () => {
    const alice = await nodeA.as("poll-alice");
    const bob: UserClients = await nodeB.as("poll-bob");
    const id = await directConversation(alice, bob.userId);
    const head = await bob.chat.sync({ deviceId: "d" });
    const polling = bob.chat.sync({ deviceId: "d", cursor: head.nextCursor, waitMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await send(alice, id, "wakes the poll");
    const sentAt = Date.now();
    const page = await polling;
    expect(Date.now() - sentAt).toBeLessThan(5000);
    expect(page.events.map((event) => (event.kind.case === "message" ? event.kind.value.message?.text : event.kind.case))).toEqual([
      "wakes the poll",
    ]);
  });
});
