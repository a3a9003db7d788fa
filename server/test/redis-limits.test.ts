import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { ChatService, ErrorReason } from "@chatwire/gen";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, type ServerOptions } from "../src/index.js";
import { runServerCommand } from "./support/command.js";
import { expectConnectError } from "./support/errors.js";
import { testSchemas } from "./support/postgres.js";
import { freePort, startRedisServer, stopRedisServer } from "./support/redis-server.js";
import { SECRET, bearer, createTransport, eventually, startTestServer, type TestServer, type UserClients } from "./support/server.js";
import { TEST_DATABASE_URL, TEST_REDIS_URL, requireService } from "./support/services.js";

const postgresAvailable = await requireService("PostgreSQL");
const redisAvailable = await requireService("Redis");

/** Reads one sample from GET /metrics of a server; `name` may carry labels. */
async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const escaped = name.replace(/[{}"]/g, (char) => `\\${char}`);
  return Number(new RegExp(`^${escaped} (\\S+)`, "m").exec(text)?.[1]);
}

/** Sends GetServerInfo calls and returns how many were accepted and the rate limit errors of the rest. */
async function callRepeatedly(clients: UserClients[], calls: number): Promise<{ accepted: number; rejected: ConnectError[] }> {
  let accepted = 0;
  const rejected: ConnectError[] = [];
  for (let call = 0; call < calls; call++) {
    const client = clients[call % clients.length]!;
    try {
      await client.chat.getServerInfo({});
      accepted++;
    } catch (error) {
      if (!(error instanceof ConnectError) || error.code !== Code.ResourceExhausted) throw error;
      rejected.push(error);
    }
  }
  return { accepted, rejected };
}

interface OpenStream {
  /** Settles when the stream ends: undefined after a client abort, the error otherwise. */
  ended: Promise<unknown>;
  abort(): void;
}

/** Opens a Subscribe stream and resolves once its first frame arrived, or rejects with its error. */
async function openStream(user: UserClients): Promise<OpenStream> {
  const controller = new AbortController();
  let frames = 0;
  const ended = (async () => {
    for await (const frame of user.chat.subscribe({ deviceId: "d" }, { signal: controller.signal })) {
      void frame;
      frames++;
    }
  })().then(
    () => undefined,
    (error: unknown) => (controller.signal.aborted ? undefined : error),
  );
  await Promise.race([
    eventually(() => frames > 0, 5000, "the first heartbeat"),
    ended.then((error) => {
      if (error !== undefined) throw error;
    }),
  ]);
  return { ended, abort: () => controller.abort() };
}

describe.skipIf(!postgresAvailable || !redisAvailable)("limits shared by two servers through Redis", () => {
  const RATE = 20;
  const STREAMS = 2;
  const schemas = testSchemas();
  const prefix = `chatwire_test_${randomUUID()}:`;
  const admin = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  let nodeA: TestServer;
  let nodeB: TestServer;
  let shared: ServerOptions;

  beforeAll(async () => {
    shared = {
      databaseUrl: TEST_DATABASE_URL,
      databaseSchema: schemas.next(),
      redisUrl: TEST_REDIS_URL,
      redisChannelPrefix: prefix,
      heartbeatMs: 500,
      maxStreamsPerUser: STREAMS,
      rateLimit: RATE,
    };
    await admin.connect();
    nodeA = await startTestServer(shared);
    nodeB = await startTestServer(shared);
  });
  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
    await schemas.dropAll();
  });

  it("shares one token bucket per user", async () => {
    const onA = await nodeA.as("rate-user");
    const onB = await nodeB.as("rate-user");
    // A burst of twice the rate, 40 tokens, for both nodes together; each node alone would accept its 30.
    // Tokens refill at 20 per second while the calls run, so a few more may pass.
    const { accepted, rejected } = await callRepeatedly([onA, onB], 60);
    expect(accepted).toBeGreaterThanOrEqual(40);
    expect(accepted).toBeLessThanOrEqual(52);
    expect(rejected.length).toBe(60 - accepted);
    const { error, detail } = await expectConnectError(onB.chat.getServerInfo({}), Code.ResourceExhausted, ErrorReason.RATE_LIMITED);
    expect(error.rawMessage).toMatch(/^rate limit of 20 requests per second exceeded; retry in \d+ ms$/);
    expect(detail?.retryAfterMs).toBeGreaterThan(0);
    expect(detail?.retryAfterMs).toBeLessThanOrEqual(50);
  });

  it("lets the bucket key expire once full again", async () => {
    const user = await nodeA.as("expiring-user");
    await user.chat.getServerInfo({});
    const ttl = await admin.pttl(`${prefix}rate:expiring-user`);
    expect(ttl).toBeGreaterThan(0);
    // One token refills in 50 ms at 20 per second.
    expect(ttl).toBeLessThanOrEqual(51);
  });

  it("caps streams across both servers", async () => {
    const onA = await nodeA.as("stream-user");
    const onB = await nodeB.as("stream-user");
    const first = await openStream(onA);
    const second = await openStream(onB);
    expect(await admin.zcard(`${prefix}readers:stream-user`)).toBe(2);

    const third = await openStream(onA).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(third).toBeInstanceOf(ConnectError);
    expect((third as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((third as ConnectError).rawMessage).toContain("user stream-user has 2 open Subscribe streams and long-poll Syncs; the limit is 2");

    const poll = await onB.chat.sync({ deviceId: "d", waitMs: 1000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    // A Sync of an empty log waits, so it needs a slot as well.
    expect((poll as ConnectError | undefined)?.code).toBe(Code.ResourceExhausted);

    first.abort();
    await first.ended;
    const deadline = Date.now() + 5000;
    while ((await admin.zcard(`${prefix}readers:stream-user`)) !== 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await admin.zcard(`${prefix}readers:stream-user`)).toBe(1);
    const replacement = await openStream(onB);
    replacement.abort();
    second.abort();
    await replacement.ended;
    await second.ended;
  });

  it("keeps leases alive past their length while streams stay open", async () => {
    const user = await nodeA.as("long-stream-user");
    const stream = await openStream(user);
    // Leases last 2 s at this heartbeat; the refresh must extend them.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await admin.zcard(`${prefix}readers:long-stream-user`)).toBe(1);
    const ttl = await admin.pttl(`${prefix}readers:long-stream-user`);
    expect(ttl).toBeGreaterThan(0);
    stream.abort();
    await stream.ended;
  });

  it("expires the leases of a killed node", async () => {
    const node = runServerCommand([
      "--port", "0", "--jwt-secret", SECRET, "--data-dir", nodeA.dataDir,
      "--database-url", TEST_DATABASE_URL, "--database-schema", shared.databaseSchema!,
      "--redis-url", TEST_REDIS_URL, "--redis-channel-prefix", prefix,
      "--heartbeat-ms", "500", "--max-streams-per-user", String(STREAMS), "--rate-limit", "0",
    ]);
    let child: ChildProcess | undefined = node.child;
    try {
      await eventually(() => node.output().includes("chatwire server listening"), 20_000, "the third node to start");
      const url = /"url":"(http:\/\/[^"]+)"/.exec(node.output())?.[1];
      expect(url, node.output()).toBeDefined();
      const token = await mintToken({ secret: SECRET, userId: "orphan-user", ttlSeconds: 3600 });
      const onKilled: UserClients = {
        userId: "orphan-user",
        token,
        chat: createClient(ChatService, createTransport("connect-h2", url!, [bearer(token)])),
        conversations: undefined as never,
      };
      const streams = [await openStream(onKilled), await openStream(onKilled)];
      node.child.kill("SIGKILL");
      await node.exited;
      child = undefined;
      for (const stream of streams) await stream.ended;

      const survivor = await nodeB.as("orphan-user");
      await expectConnectError(openStream(survivor), Code.ResourceExhausted);
      const killedAt = Date.now();
      const reopened = await (async () => {
        for (;;) {
          try {
            return await openStream(survivor);
          } catch (error) {
            if (Date.now() - killedAt > 10_000) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      })();
      // Leases last max(3 heartbeats, 2 s) = 2 s here.
      expect(Date.now() - killedAt).toBeLessThan(4000);
      reopened.abort();
      await reopened.ended;
    } finally {
      child?.kill("SIGKILL");
    }
  }, 40_000);
});

describe.skipIf(!postgresAvailable || !redisAvailable)("limits while Redis is down", () => {
  const schemas = testSchemas();
  let port: number;
  let redis: ChildProcess | undefined;
  let node: TestServer;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedisServer(port);
    node = await startTestServer({
      databaseUrl: TEST_DATABASE_URL,
      databaseSchema: schemas.next(),
      redisUrl: `redis://127.0.0.1:${port}`,
      heartbeatMs: 500,
      maxStreamsPerUser: 1,
      rateLimit: 2,
    });
  });
  afterAll(async () => {
    await node?.close();
    await stopRedisServer(redis);
    await schemas.dropAll();
  });

  it("falls back to the node's own bucket and count", async () => {
    const user = await node.as("offline-user");
    // Redis is up: the first call loads the script after NOSCRIPT from the fresh server.
    await user.chat.getServerInfo({});
    expect(await metric(node, 'chatwire_limit_local_fallbacks_total{limit="rate"}')).toBe(0);

    await stopRedisServer(redis);
    redis = undefined;
    const downUser = await node.as("offline-user-2");
    const { accepted, rejected } = await callRepeatedly([downUser], 6);
    expect(accepted).toBeGreaterThanOrEqual(4);
    expect(accepted).toBeLessThanOrEqual(5);
    expect(rejected.length).toBeGreaterThan(0);
    expect(await metric(node, 'chatwire_limit_local_fallbacks_total{limit="rate"}')).toBeGreaterThanOrEqual(6);

    const stream = await openStream(user);
    await expectConnectError(openStream(user), Code.ResourceExhausted);
    expect(await metric(node, 'chatwire_limit_local_fallbacks_total{limit="streams"}')).toBeGreaterThanOrEqual(1);
    stream.abort();
    await stream.ended;
    const again = await openStream(user);
    again.abort();
    await again.ended;
  }, 30_000);
});
