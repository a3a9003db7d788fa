import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { ChatService, ConversationService, type SubscribeResponse } from "@chatwire/gen";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mintToken } from "../src/index.js";
import { createRedisFanOut, type RedisFanOut, type RedisFanOutHooks } from "../src/fanout/redis.js";
import { ChannelNames } from "../src/fanout/redis-notification.js";
import type { FanOut, FanOutListener } from "../src/fanout/types.js";
import { startServerWith, type RunningServer } from "../src/server.js";
import { StreamHub } from "../src/streams/hub.js";
import { freePort, startRedisServer, stopRedisServer } from "./support/redis-server.js";
import {
  SECRET,
  bearer,
  createTransport,
  directConversation,
  eventually,
  send,
  tempDir,
  type UserClients,
} from "./support/server.js";
import { captureLogs } from "./support/logs.js";
import { TEST_REDIS_URL, requireService } from "./support/services.js";

const redisAvailable = await requireService("Redis");

const silent = pino({ level: "silent" });

interface Recorder {
  /** Positions passed to the listener, `undefined` included. */
  delivered: Array<number | undefined>;
  listener: FanOutListener;
}

function recorder(): Recorder {
  const delivered: Array<number | undefined> = [];
  return { delivered, listener: (position) => delivered.push(position) };
}

function count<T>(values: T[], value: T): number {
  return values.filter((each) => each === value).length;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Subscribes and resolves once the subscription is active at Redis (the listener was called with `undefined`). */
async function subscribeActive(fanOut: FanOut, userId: string, record: Recorder): Promise<() => void> {
  const before = count(record.delivered, undefined);
  const unsubscribe = fanOut.subscribe(userId, record.listener);
  await eventually(() => count(record.delivered, undefined) > before, 5000, `the subscription of ${userId}`);
  return unsubscribe;
}

describe.skipIf(!redisAvailable)("Redis fan-out between two nodes", () => {
  const prefix = `chatwire_test_${randomUUID()}:`;
  const channels = new ChannelNames(prefix);
  const received: number[] = [];
  const logs = captureLogs();
  let nodeA: RedisFanOut;
  let nodeB: RedisFanOut;
  let admin: Redis;

  beforeAll(async () => {
    const hooks: RedisFanOutHooks = { notificationReceived: (seconds) => received.push(seconds) };
    nodeA = await createRedisFanOut({ url: TEST_REDIS_URL, logger: logs.logger, channelPrefix: prefix, hooks });
    nodeB = await createRedisFanOut({ url: TEST_REDIS_URL, logger: logs.logger, channelPrefix: prefix, hooks });
    admin = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    await nodeA.close();
    await nodeB.close();
    admin.disconnect();
  });

  it("uses sharded pub/sub on Redis 7 and later", async () => {
    const version = /redis_version:(\d+)/.exec(await admin.info("server"))?.[1];
    const expected = Number(version) >= 7 ? "sharded" : "classic";
    expect(nodeA.pubSubMode).toBe(expected);
    expect(nodeB.pubSubMode).toBe(expected);
    expect(logs.lines.filter((line) => line.mode === expected && line.nodeId === nodeA.nodeId)).toHaveLength(1);

    const record = recorder();
    const { delivered } = record;
    const unsubscribe = await subscribeActive(nodeB, "mode-user", record);
    const channel = channels.forUser("mode-user");
    const subscribers = async (command: "SHARDNUMSUB" | "NUMSUB") => ((await admin.call("PUBSUB", command, channel)) as [string, number])[1];
    if (expected === "sharded") {
      expect(await subscribers("SHARDNUMSUB")).toBe(1);
      expect(await subscribers("NUMSUB")).toBe(0);
    } else {
      expect(await subscribers("NUMSUB")).toBe(1);
    }
    unsubscribe();
  });

  it("wakes a listener on the other node", async () => {
    const record = recorder();
    const { delivered } = record;
    const unsubscribe = await subscribeActive(nodeB, "wake-user", record);
    const receivedBefore = received.length;
    nodeA.publish("wake-user", 7);
    await eventually(() => delivered.includes(7), 5000, "position 7 on node B");
    expect(delivered.filter((position) => position !== undefined)).toEqual([7]);
    expect(received.length).toBe(receivedBefore + 1);
    expect(received.at(-1)).toBeGreaterThanOrEqual(0);
    expect(received.at(-1)).toBeLessThan(5);
    unsubscribe();
  });

  it("calls local listeners before publish returns", () => {
    const record = recorder();
    const { delivered } = record;
    const unsubscribe = nodeA.subscribe("local-user", record.listener);
    nodeA.publish("local-user", 3);
    expect(delivered).toEqual([3]);
    unsubscribe();
  });

  it("stops delivery after the last listener unsubscribes", async () => {
    const gone = recorder();
    const stays = recorder();
    const unsubscribeGone = await subscribeActive(nodeB, "gone-user", gone);
    const unsubscribeStays = await subscribeActive(nodeB, "stays-user", stays);
    unsubscribeGone();
    const channel = channels.forUser("gone-user");
    const command = nodeB.pubSubMode === "sharded" ? "SHARDNUMSUB" : "NUMSUB";
    const deadline = Date.now() + 5000;
    while (((await admin.call("PUBSUB", command, channel)) as [string, number])[1] !== 0 && Date.now() < deadline) await sleep(10);
    expect(((await admin.call("PUBSUB", command, channel)) as [string, number])[1]).toBe(0);

    nodeA.publish("gone-user", 5);
    nodeA.publish("stays-user", 5);
    // Both go out in one pipeline, so once the second arrived the first was delivered or dropped.
    await eventually(() => stays.delivered.includes(5), 5000, "position 5 for the user still subscribed");
    expect(gone.delivered).toEqual([undefined]);
    unsubscribeStays();
  });

  it("keeps the channel while another local listener remains", async () => {
    const first = recorder();
    const second = recorder();
    const unsubscribeFirst = await subscribeActive(nodeB, "shared-user", first);
    const unsubscribeSecond = nodeB.subscribe("shared-user", second.listener);
    unsubscribeFirst();
    nodeA.publish("shared-user", 9);
    await eventually(() => second.delivered.includes(9), 5000, "position 9 for the remaining listener");
    expect(first.delivered).toEqual([undefined]);
    unsubscribeSecond();
  });

  it("drops its own notifications when Redis delivers them back", async () => {
    const onB = recorder();
    const onA = recorder();
    const unsubscribeB = await subscribeActive(nodeB, "echo-user", onB);
    const unsubscribeA = await subscribeActive(nodeA, "echo-probe", onA);
    nodeB.publish("echo-user", 11);
    nodeB.publish("echo-probe", 1);
    // The probe went out in B's pipeline after echo-user, so B's own message was handled before A received it.
    await eventually(() => onA.delivered.includes(1), 5000, "B's probe on node A");
    nodeA.publish("echo-user", 12);
    await eventually(() => onB.delivered.includes(12), 5000, "position 12 from node A");
    expect(onB.delivered.filter((position) => position !== undefined)).toEqual([11, 12]);
    unsubscribeA();
    unsubscribeB();
  });

  it("merges one commit's publishes per user", async () => {
    const users = Array.from({ length: 40 }, (_, index) => `merge-user-${index}`);
    const delivered = new Map<string, Array<number | undefined>>();
    const unsubscribes = [];
    for (const userId of users) {
      const record = recorder();
      delivered.set(userId, record.delivered);
      unsubscribes.push(await subscribeActive(nodeB, userId, record));
    }
    for (let position = 1; position <= 10; position++) {
      for (const userId of users) nodeA.publish(userId, position);
    }
    await eventually(() => users.every((userId) => delivered.get(userId)?.includes(10)), 5000, "position 10 for every user");
    await sleep(100);
    for (const userId of users) {
      expect(delivered.get(userId)?.filter((position) => position !== undefined), userId).toEqual([10]);
    }
    for (const unsubscribe of unsubscribes) unsubscribe();
  });

  it("works with classic PUBLISH/SUBSCRIBE", async () => {
    const classicA = await createRedisFanOut({ url: TEST_REDIS_URL, logger: silent, channelPrefix: prefix, pubSub: "classic" });
    const classicB = await createRedisFanOut({ url: TEST_REDIS_URL, logger: silent, channelPrefix: prefix, pubSub: "classic" });
    try {
      expect(classicA.pubSubMode).toBe("classic");
      const record = recorder();
    const { delivered } = record;
      const unsubscribe = await subscribeActive(classicB, "classic-user", record);
      expect(((await admin.call("PUBSUB", "NUMSUB", channels.forUser("classic-user"))) as [string, number])[1]).toBe(1);
      classicA.publish("classic-user", 4);
      await eventually(() => delivered.includes(4), 5000, "position 4 over classic pub/sub");
      unsubscribe();
    } finally {
      await classicA.close();
      await classicB.close();
    }
  });

  it("rejects a Redis that does not answer, naming the address", async () => {
    const port = await freePort();
    await expect(
      createRedisFanOut({ url: `redis://:hunter2-password@127.0.0.1:${port}`, logger: silent }),
    ).rejects.toThrow(new RegExp(`failed to connect the fan-out (publisher|subscriber) to Redis at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    await expect(createRedisFanOut({ url: `redis://:hunter2-password@127.0.0.1:${port}`, logger: silent })).rejects.not.toThrow(/hunter2/);
    await expect(createRedisFanOut({ url: "http://127.0.0.1:6379", logger: silent })).rejects.toThrow(/not a Redis URL/);
  });
});

describe.skipIf(!redisAvailable)("Redis fan-out across a Redis restart", () => {
  let port: number;
  let redis: ChildProcess | undefined;
  const fanOuts: RedisFanOut[] = [];

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedisServer(port);
  });
  afterAll(async () => {
    for (const fanOut of fanOuts) await fanOut.close();
    await stopRedisServer(redis);
  });

  it("reconnects, resubscribes and wakes its listeners", async () => {
    const url = `redis://127.0.0.1:${port}`;
    const connected = { a: true, b: true };
    let failedOnA = 0;
    const nodeA = await createRedisFanOut({
      url,
      logger: silent,
      hooks: { connectionChanged: (up) => (connected.a = up), publishFailed: (failed) => (failedOnA += failed) },
    });
    fanOuts.push(nodeA);
    const nodeB = await createRedisFanOut({ url, logger: silent, hooks: { connectionChanged: (up) => (connected.b = up) } });
    fanOuts.push(nodeB);
    const record = recorder();
    const { delivered } = record;
    await subscribeActive(nodeB, "restart-user", record);
    nodeA.publish("restart-user", 1);
    await eventually(() => delivered.includes(1), 5000, "position 1 before the restart");

    await stopRedisServer(redis);
    await eventually(() => !connected.a && !connected.b, 10_000, "both nodes to notice the lost connection");
    expect(() => nodeA.publish("restart-user", 2)).not.toThrow();
    await eventually(() => failedOnA >= 1, 5000, "the failed publish to be counted");

    const wakesBefore = count(delivered, undefined);
    redis = await startRedisServer(port);
    await eventually(() => connected.a && connected.b, 15_000, "both nodes to reconnect");
    await eventually(() => count(delivered, undefined) === wakesBefore + 1, 5000, "the listener to be woken after the reconnect");

    const admin = new Redis(url);
    try {
      const command = nodeB.pubSubMode === "sharded" ? "SHARDNUMSUB" : "NUMSUB";
      const channel = new ChannelNames("chatwire:").forUser("restart-user");
      expect(((await admin.call("PUBSUB", command, channel)) as [string, number])[1]).toBe(1);
    } finally {
      admin.disconnect();
    }
    nodeA.publish("restart-user", 3);
    await eventually(() => delivered.includes(3), 5000, "position 3 after the restart");
    expect(delivered.filter((position) => position !== undefined)).toEqual([1, 3]);
    expect(count(delivered, undefined)).toBe(wakesBefore + 1);
  }, 60_000);
});

/** A fan-out whose notifications never arrive. */
function lossyFanOut(): FanOut & { listeners: Map<string, FanOutListener> } {
  const listeners = new Map<string, FanOutListener>();
  return {
    listeners,
    mayLoseNotifications: true,
    publish() {},
    subscribe(userId, listener) {
      listeners.set(userId, listener);
      return () => listeners.delete(userId);
    },
    close: () => Promise.resolve(),
  };
}

describe("readers when every notification is lost", () => {
  const HEARTBEAT_MS = 200;
  /** About one heartbeat interval, plus room for a busy machine. */
  const BOUND_MS = HEARTBEAT_MS * 2 + 800;
  const dir = tempDir();
  let server: RunningServer;

  async function as(userId: string): Promise<UserClients> {
    const token = await mintToken({ secret: SECRET, userId, ttlSeconds: 3600 });
    const transport = createTransport("connect-h2", server.url, [bearer(token)]);
    return { userId, token, chat: createClient(ChatService, transport), conversations: createClient(ConversationService, transport) };
  }

  beforeAll(async () => {
    server = await startServerWith(
      { port: 0, dataDir: dir.path, jwtSecret: SECRET, rateLimit: 0, heartbeatMs: HEARTBEAT_MS },
      { fanOut: lossyFanOut() },
    );
  });
  afterAll(async () => {
    await server.close();
    dir.remove();
  });

  it("Subscribe receives every event within about one heartbeat", async () => {
    const alice = await as("lossy-alice");
    const bob = await as("lossy-bob");
    const id = await directConversation(alice, bob.userId);
    const arrivals = new Map<string, number>();
    const positions: number[] = [];
    const abort = new AbortController();
    const frames: SubscribeResponse[] = [];
    const reading = (async () => {
      for await (const frame of bob.chat.subscribe({ deviceId: "d" }, { signal: abort.signal })) {
        frames.push(frame);
        if (frame.kind.case !== "batch") continue;
        for (const event of frame.kind.value.events) {
          positions.push(Number(event.position));
          if (event.kind.case === "message") arrivals.set(event.kind.value.message?.text ?? "", Date.now());
        }
      }
    })().catch(() => {});
    await eventually(() => frames.length > 0, 5000, "the first heartbeat");

    const latencies: number[] = [];
    for (let index = 0; index < 5; index++) {
      const text = `lost ${index}`;
      await send(alice, id, text);
      const committedAt = Date.now();
      await eventually(() => arrivals.has(text), 5000, `"${text}" on the stream`);
      latencies.push((arrivals.get(text) ?? 0) - committedAt);
      await sleep(HEARTBEAT_MS / 3);
    }
    abort.abort();
    await reading;

    for (const latency of latencies) expect(latency).toBeLessThan(BOUND_MS);
    expect(positions).toEqual(Array.from({ length: positions.length }, (_, index) => index + 1));
    expect(positions.length).toBe(6);
  });

  it("a long-poll Sync returns within about one heartbeat", async () => {
    const alice = await as("lossy-poll-alice");
    const bob = await as("lossy-poll-bob");
    const id = await directConversation(alice, bob.userId);
    const head = await bob.chat.sync({ deviceId: "d" });
    const polling = bob.chat.sync({ deviceId: "d", cursor: head.nextCursor, waitMs: 20_000 });
    await sleep(HEARTBEAT_MS / 2);
    await send(alice, id, "lost while polling");
    const committedAt = Date.now();
    const page = await polling;
    expect(Date.now() - committedAt).toBeLessThan(BOUND_MS);
    expect(page.events.map((event) => (event.kind.case === "message" ? event.kind.value.message?.text : event.kind.case))).toEqual([
      "lost while polling",
    ]);
  });
});

describe("StreamHub with a fan-out that may lose notifications", () => {
  const HEARTBEAT_MS = 40;
  let hub: StreamHub | undefined;
  afterEach(() => hub?.closeAll());

  it("reads the head once per heartbeat when notifications may be lost", async () => {
    hub = new StreamHub({ fanOut: lossyFanOut(), heartbeatMs: HEARTBEAT_MS, maxStreamsPerUser: 5 });
    let reads = 0;
    await hub.waitForEvents("u", 0, HEARTBEAT_MS * 6, new AbortController().signal, () => {
      reads++;
      return Promise.resolve(0);
    });
    // One read at the start, then about one per heartbeat; a busy machine may skip some ticks.
    expect(reads).toBeGreaterThanOrEqual(3);
    expect(reads).toBeLessThanOrEqual(8);
  });

  it("reads the head only once with the in-process fan-out", async () => {
    const fanOut = { ...lossyFanOut(), mayLoseNotifications: false };
    hub = new StreamHub({ fanOut, heartbeatMs: HEARTBEAT_MS, maxStreamsPerUser: 5 });
    let reads = 0;
    await hub.waitForEvents("u", 0, HEARTBEAT_MS * 6, new AbortController().signal, () => {
      reads++;
      return Promise.resolve(0);
    });
    expect(reads).toBe(1);
  });

  it("finishes when the head passes during a check", async () => {
    const fanOut = lossyFanOut();
    hub = new StreamHub({ fanOut, heartbeatMs: 60_000, maxStreamsPerUser: 5 });
    let head = 0;
    let releaseFirstRead = () => {};
    const firstRead = new Promise<void>((resolve) => {
      releaseFirstRead = resolve;
    });
    let reads = 0;
    const started = Date.now();
    const waiting = hub.waitForEvents("u", 0, 10_000, new AbortController().signal, async () => {
      reads++;
      const seen = head;
      if (reads === 1) await firstRead;
      return seen;
    });
    await eventually(() => reads === 1);
    // An event commits after the first read saw head 0, and its wake-up says only "re-read".
    head = 1;
    fanOut.listeners.get("u")?.(undefined);
    releaseFirstRead();
    await waiting;
    expect(reads).toBe(2);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("wakes a stream when notifications may have been missed", async () => {
    const fanOut = lossyFanOut();
    hub = new StreamHub({ fanOut, heartbeatMs: 60_000, maxStreamsPerUser: 5 });
    const stream = await hub.open("u", 3, Date.now() + 60_000, new AbortController().signal);
    // As after the stream's first heartbeat: the next one is a minute away.
    stream.frameSent();
    let woken = 0;
    const waitOnce = () => stream.wait().then(() => void woken++);
    void waitOnce();
    fanOut.listeners.get("u")?.(3);
    await sleep(10);
    expect(woken).toBe(0);
    fanOut.listeners.get("u")?.(undefined);
    await eventually(() => woken === 1, 500, "the stream to wake");
    stream.close();
  });

  it("finishes on a notified head past its position", async () => {
    const fanOut = lossyFanOut();
    hub = new StreamHub({ fanOut, heartbeatMs: 60_000, maxStreamsPerUser: 5 });
    let reads = 0;
    const waiting = hub.waitForEvents("u", 4, 10_000, new AbortController().signal, () => {
      reads++;
      return Promise.resolve(4);
    });
    await eventually(() => reads === 1);
    await sleep(10);
    fanOut.listeners.get("u")?.(4);
    fanOut.listeners.get("u")?.(5);
    await waiting;
    expect(reads).toBe(1);
  });
});
