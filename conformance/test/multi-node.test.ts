/**
 * chatwire as several stateless nodes. Three server processes share one
 * PostgreSQL schema (the source of truth) and one Redis (the fan-out). Real
 * Node SDK clients on SQLite files reach them through a round-robin TCP load
 * balancer, or each through one node.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";

import { requireService, TEST_DATABASE_URL, TEST_REDIS_URL } from "../../server/test/support/services.js";
import { startCluster, type Cluster } from "../src/cluster/index.js";
import { startLoadBalancer, type LoadBalancer } from "../src/net/index.js";
import { protocolUser, uuidv7, type ProtocolUser } from "../src/scenarios/protocol.js";
import {
  assertConversationStored,
  assertCursorIntact,
  assertGapless,
  fetchMetrics,
  sumSamples,
  waitUntil,
  waitUntilQuiet,
} from "./multi-node/checks.js";
import { readStoredDevice, startDevice, viewCounts, type Device } from "./multi-node/devices.js";

const postgresAvailable = await requireService("PostgreSQL");
const redisAvailable = await requireService("Redis");

/**
 * Heartbeat interval of the test servers, in ms. Readers also re-check the
 * store once per interval, so a Redis notification that never arrives costs
 * at most this long.
 */
const HEARTBEAT_MS = 1_000;

/**
 * How long the devices must stay caught up before they close: above the
 * test clients' receipt delay (200 ms) plus an Acknowledge round trip, so
 * that no receipt is still on its way.
 */
const QUIET_MS = 1_000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startTestCluster(nodes: number): Promise<Cluster> {
  const cluster = await startCluster({
    nodes,
    databaseUrl: TEST_DATABASE_URL,
    redisUrl: TEST_REDIS_URL,
    args: ["--heartbeat-ms", String(HEARTBEAT_MS), "--rate-limit", "0"],
  });
  cleanups.push(() => cluster.stop());
  return cluster;
}

async function startBalancer(cluster: Cluster): Promise<LoadBalancer> {
  const balancer = await startLoadBalancer({
    backends: cluster.nodes.map((node) => ({ host: "127.0.0.1", port: node.port })),
  });
  cleanups.push(() => balancer.close());
  return balancer;
}

async function deviceFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "chatwire-multi-node-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a device and closes it after the test, if the test has not. */
async function openDevice(cluster: Cluster, baseUrl: string, dir: string, userId: string, name = userId): Promise<Device> {
  const device = await startDevice({ userId, name, baseUrl, dir, token: (id) => cluster.token(id) });
  cleanups.push(() => device.close());
  return device;
}

function userOnNode(cluster: Cluster, node: number, userId: string): ProtocolUser {
  return protocolUser(cluster.urls[node]!, userId, () => cluster.token(userId));
}

/** The conversations of one test, with their members and the texts sent to each. */
class Plan {
  readonly members = new Map<string, string[]>();
  readonly sent = new Map<string, string[]>();

  add(conversationId: string, memberIds: string[]): string {
    this.members.set(conversationId, memberIds);
    this.sent.set(conversationId, []);
    return conversationId;
  }

  conversationsOf(userId: string): string[] {
    return [...this.members].filter(([, memberIds]) => memberIds.includes(userId)).map(([id]) => id);
  }

  /** Queues a text in the device's outbox and records it as sent. */
  async send(device: Device, conversationId: string, text: string): Promise<void> {
    await device.client.send(conversationId, text);
    this.sent.get(conversationId)!.push(text);
  }

  /** Returns what is still missing on each device, for a timeout message. */
  describeMissing(devices: readonly Device[]): string {
    const missing: string[] = [];
    for (const device of devices) {
      for (const conversationId of this.conversationsOf(device.userId)) {
        const { confirmed, pending } = viewCounts(device, conversationId);
        const expected = this.sent.get(conversationId)!.length;
        if (confirmed !== expected || pending !== 0) {
          missing.push(`${device.name} shows ${confirmed}/${expected} confirmed and ${pending} pending in ${conversationId}`);
        }
      }
    }
    return missing.join("; ") || "nothing";
  }

  /** True when every device shows every sent message of its conversations as confirmed, and nothing pending. */
  complete(devices: readonly Device[]): boolean {
    return this.describeMissing(devices) === "nothing";
  }
}

/**
 * Closes the devices, then checks each file against the server: every
 * conversation complete, gapless and equal to the server's history, the
 * outbox empty, and the sync cursor at the head of the user's log.
 */
async function checkStoredDevices(cluster: Cluster, node: number, devices: readonly Device[], plan: Plan): Promise<void> {
  const users = new Map<string, ProtocolUser>();
  const userOf = (userId: string) => {
    let user = users.get(userId);
    if (user === undefined) {
      user = userOnNode(cluster, node, userId);
      users.set(userId, user);
    }
    return user;
  };
  await waitUntilQuiet(devices, userOf, QUIET_MS, 20_000);
  await Promise.all(devices.map((device) => device.close()));

  for (const device of devices) {
    const user = userOf(device.userId);
    const conversationIds = plan.conversationsOf(device.userId);
    const stored = await readStoredDevice(device.databasePath, conversationIds);
    for (const conversationId of conversationIds) {
      const history = await user.history(conversationId);
      assertConversationStored(
        stored.messages.get(conversationId)!,
        history,
        plan.sent.get(conversationId)!,
        `${device.name} in ${conversationId}`,
      );
    }
    expect(stored.outbox, `${device.name}: outbox entries left`).toEqual([]);
    await assertCursorIntact(user, stored, device.name);
  }
}

describe.skipIf(!postgresAvailable || !redisAvailable)("three nodes on PostgreSQL and Redis", () => {
  it("keeps every message when a node is killed mid-run", async () => {
    const cluster = await startTestCluster(3);
    const balancer = await startBalancer(cluster);
    const dir = await deviceFolder();
    const open = (userId: string, name?: string) => openDevice(cluster, balancer.url, dir, userId, name);
    const annPhone = await open("ann", "ann-phone");
    const annLaptop = await open("ann", "ann-laptop");
    const ben = await open("ben");
    const cat = await open("cat");
    const dan = await open("dan");
    const devices = [annPhone, annLaptop, ben, cat, dan];
    await waitUntil(
      () => devices.every((device) => device.client.connectionState.kind === "connected"),
      20_000,
      () => devices.map((device) => `${device.name} is ${device.client.connectionState.kind}`).join(", "),
    );
    expect(
      balancer.stats().backends.every((backend) => backend.connectionsOpen > 0),
      "every node serves at least one device",
    ).toBe(true);

    const plan = new Plan();
    const everyone = ["ann", "ben", "cat", "dan"];
    const all = plan.add((await annPhone.client.createGroup({ title: "all", memberIds: ["ben", "cat", "dan"] })).conversationId, everyone);
    plan.add((await ben.client.createGroup({ title: "abc", memberIds: ["ann", "cat"] })).conversationId, ["ann", "ben", "cat"]);
    plan.add((await annLaptop.client.createDirectConversation("ben")).conversationId, ["ann", "ben"]);
    plan.add((await cat.client.createDirectConversation("dan")).conversationId, ["cat", "dan"]);
    plan.add((await dan.client.createDirectConversation("ben")).conversationId, ["ben", "dan"]);
    for (const device of devices) for (const conversationId of plan.conversationsOf(device.userId)) device.watch(conversationId);

    const sendRound = async (from: number, to: number) => {
      for (let index = from; index <= to; index++) {
        for (const device of devices) {
          for (const conversationId of plan.conversationsOf(device.userId)) {
            await plan.send(device, conversationId, `${device.name} #${index} in ${conversationId}`);
          }
        }
        await sleep(20);
      }
    };

    await sendRound(1, 6);
    await waitUntil(
      () => devices.every((device) => viewCounts(device, all).confirmed >= 2),
      20_000,
      () => `messages before the kill: ${plan.describeMissing(devices)}`,
    );
    const victim = balancer.stats().backends.findIndex((backend) => backend.connectionsOpen > 0);
    const forwardedBeforeKill = balancer.stats().backends.reduce((total, backend) => total + backend.connectionsForwarded, 0);
    const exit = await cluster.nodes[victim]!.kill("SIGKILL");
    expect(exit.signal).toBe("SIGKILL");
    await sendRound(7, 12);

    await waitUntil(() => plan.complete(devices), 40_000, () => `after the kill of node ${victim}: ${plan.describeMissing(devices)}`);
    const stats = balancer.stats();
    expect(stats.backends[victim]!.connectionsOpen, "connections left on the killed node").toBe(0);
    expect(
      stats.backends.reduce((total, backend) => total + backend.connectionsForwarded, 0),
      "reconnections through the balancer",
    ).toBeGreaterThan(forwardedBeforeKill);
    for (const device of devices) {
      expect(device.client.connectionState.kind, `${device.name} connection state`).toBe("connected");
    }

    const survivor = (victim + 1) % cluster.nodes.length;
    await checkStoredDevices(cluster, survivor, devices, plan);
  });

  it("orders 8 writers on 3 nodes into one gapless sequence", async () => {
    const cluster = await startTestCluster(3);
    const dir = await deviceFolder();
    const writers = Array.from({ length: 8 }, (_, index) => userOnNode(cluster, index % 3, `writer-${index}`));
    const readerIds = ["reader-0", "reader-1", "reader-2"];
    const conversationId = await writers[0]!.createGroup("eight writers", [
      ...writers.slice(1).map((writer) => writer.userId),
      ...readerIds,
    ]);
    const readers = await Promise.all(
      readerIds.map((userId, node) => openDevice(cluster, cluster.urls[node]!, dir, userId)),
    );
    for (const reader of readers) reader.watch(conversationId);

    const perWriter = 25;
    const sentBy = await Promise.all(
      writers.map(async (writer) => {
        const seqs: number[] = [];
        for (let index = 1; index <= perWriter; index++) {
          const message = await writer.send(conversationId, `${writer.userId} #${index}`);
          seqs.push(Number(message.seq));
        }
        return seqs;
      }),
    );
    const total = writers.length * perWriter;
    const allSeqs = sentBy.flat().sort((a, b) => a - b);
    expect(allSeqs).toEqual(Array.from({ length: total }, (_, index) => index + 1));

    await waitUntil(
      () => readers.every((reader) => viewCounts(reader, conversationId).confirmed === total),
      30_000,
      () => readers.map((reader) => `${reader.name}: ${viewCounts(reader, conversationId).confirmed}/${total}`).join(", "),
    );
    for (const reader of readers) await reader.close();

    const history = await writers[0]!.history(conversationId);
    for (const [node, reader] of readers.entries()) {
      const stored = (await readStoredDevice(reader.databasePath, [conversationId])).messages.get(conversationId)!;
      const sentTexts = writers.flatMap((writer) => Array.from({ length: perWriter }, (_, index) => `${writer.userId} #${index + 1}`));
      assertConversationStored(stored, history, sentTexts, `${reader.name} on node ${node}`);
      for (const writer of writers) {
        const own = stored.filter((message) => message.senderId === writer.userId).map((message) => message.text);
        expect(own, `${writer.userId}'s messages as ${reader.name} stores them`).toEqual(
          Array.from({ length: perWriter }, (_, index) => `${writer.userId} #${index + 1}`),
        );
      }

      const events = await userOnNode(cluster, node, reader.userId).syncAll();
      const seqsInLog = events.events.flatMap((event) => {
        const message = event.kind.case === "message" ? event.kind.value.message : undefined;
        return message?.conversationId === conversationId ? [Number(message.seq)] : [];
      });
      assertGapless(seqsInLog.map((seq) => ({ seq })), `${reader.name}'s event log on node ${node}`);
      expect(seqsInLog.length).toBe(total);
    }
  });

  it("retries through terminated database connections", async () => {
    const cluster = await startTestCluster(3);
    const balancer = await startBalancer(cluster);
    const dir = await deviceFolder();
    const eve = await openDevice(cluster, balancer.url, dir, "eve");
    const fay = await openDevice(cluster, balancer.url, dir, "fay");
    const gus = await openDevice(cluster, balancer.url, dir, "gus");
    const devices = [eve, fay, gus];
    const rawIds = ["hal", "ivy", "jon"];

    const plan = new Plan();
    const group = plan.add(
      (await eve.client.createGroup({ title: "cut", memberIds: ["fay", "gus", ...rawIds] })).conversationId,
      ["eve", "fay", "gus", ...rawIds],
    );
    plan.add((await fay.client.createDirectConversation("gus")).conversationId, ["fay", "gus"]);
    for (const device of devices) for (const conversationId of plan.conversationsOf(device.userId)) device.watch(conversationId);

    // Raw writers, one per node, each retrying a failed send with its key
    // until it commits, as an SDK does, and recording each failure's code.
    const failureCodes: Code[] = [];
    let writing = true;
    const rawTexts: string[] = [];
    const rawWriter = async (node: number, userId: string) => {
      const user = userOnNode(cluster, node, userId);
      for (let index = 1; index <= 40; index++) {
        const request = { conversationId: group, clientMessageId: uuidv7(), text: `${userId} #${index}`, deviceId: `${userId}-raw` };
        for (let attempt = 1; ; attempt++) {
          try {
            await user.chat.sendMessage(request);
            break;
          } catch (error) {
            failureCodes.push(ConnectError.from(error).code);
            if (attempt >= 50) throw error;
            await sleep(50);
          }
        }
        rawTexts.push(request.text);
      }
    };
    const terminator = async () => {
      let terminated = 0;
      while (writing) {
        terminated += await cluster.terminateDatabaseConnections();
        await sleep(75);
      }
      return terminated;
    };

    const terminating = terminator();
    const sdkSends = (async () => {
      for (let index = 1; index <= 15; index++) {
        for (const device of devices) {
          for (const conversationId of plan.conversationsOf(device.userId)) {
            await plan.send(device, conversationId, `${device.name} #${index} in ${conversationId}`);
          }
        }
        await sleep(30);
      }
    })();
    try {
      await Promise.all([...rawIds.map((userId, node) => rawWriter(node, userId)), sdkSends]);
    } finally {
      writing = false;
    }
    const terminated = await terminating;
    plan.sent.get(group)!.push(...rawTexts);

    expect(terminated, "backends terminated").toBeGreaterThan(0);
    expect(failureCodes.filter((code) => code !== Code.Unavailable).map((code) => Code[code])).toEqual([]);
    const metrics = await Promise.all(cluster.urls.map((url) => fetchMetrics(url)));
    const unavailable = metrics.reduce((total, text) => total + sumSamples(text, "chatwire_rpc_requests_total", { code: "unavailable" }), 0);
    const internal = metrics.reduce((total, text) => total + sumSamples(text, "chatwire_rpc_requests_total", { code: "internal" }), 0);
    expect(unavailable, "requests that failed with unavailable on some node").toBeGreaterThan(0);
    expect(internal, "requests that failed with internal").toBe(0);

    await waitUntil(() => plan.complete(devices), 30_000, () => plan.describeMissing(devices));
    await checkStoredDevices(cluster, 0, devices, plan);
    assert.equal(new Set(rawTexts).size, rawTexts.length);
  });

  it("lists the deployment metrics on every node", async () => {
    const cluster = await startTestCluster(2);
    const dir = await deviceFolder();
    const sender = userOnNode(cluster, 0, "mia");
    const conversationId = await sender.createDirect("noa");
    const receiver = await openDevice(cluster, cluster.urls[1]!, dir, "noa");
    receiver.watch(conversationId);
    // The receiver's node subscribes to noa's channel only once her stream is
    // open, and a message it fetches by Sync or at a heartbeat records no lag.
    // So the sender goes on until the receiver's node has heard a notification.
    await waitUntil(
      async () => sumSamples(await fetchMetrics(cluster.urls[1]!), "chatwire_subscribe_streams_open") === 1,
      20_000,
      () => "noa's stream on the second node",
    );
    let sent = 0;
    const lagCount = async () => sumSamples(await fetchMetrics(cluster.urls[1]!), "chatwire_fanout_lag_seconds_count");
    while (sent < 5 || ((await lagCount()) === 0 && sent < 50)) {
      sent++;
      await sender.send(conversationId, `to noa #${sent}`);
      if (sent >= 5) await sleep(100);
    }
    await waitUntil(() => viewCounts(receiver, conversationId).confirmed === sent, 20_000, () => `noa's ${sent} messages`);
    await expect(userOnNode(cluster, 0, "mia").history("no-such-conversation")).rejects.toThrow();

    const [first, second] = await Promise.all(cluster.urls.map((url) => fetchMetrics(url)));
    for (const [node, text] of [first!, second!].entries()) {
      for (const name of [
        "chatwire_subscribe_streams_open",
        "chatwire_messages_committed_total",
        "chatwire_store_commit_latency_seconds_count",
        "chatwire_fanout_lag_seconds_count",
        "chatwire_fanout_notifications_published_total",
        "chatwire_fanout_publish_failures_total",
        "chatwire_fanout_connected",
        "chatwire_postgres_pool_connections",
        "chatwire_postgres_pool_idle_connections",
        "chatwire_postgres_pool_waiting_clients",
      ]) {
        expect(text, `node ${node} /metrics`).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? `, "m"));
      }
      expect(sumSamples(text, "chatwire_fanout_connected"), `node ${node}: fan-out connected`).toBe(1);
    }
    expect(sumSamples(first!, "chatwire_messages_committed_total"), "messages committed on the sender's node").toBe(sent);
    expect(sumSamples(first!, "chatwire_store_commit_latency_seconds_count")).toBeGreaterThanOrEqual(sent);
    expect(sumSamples(first!, "chatwire_rpc_requests_total", { method: "SendMessage", code: "ok" })).toBe(sent);
    expect(sumSamples(first!, "chatwire_rpc_requests_total", { method: "GetHistory", code: "not_found" })).toBe(1);
    expect(sumSamples(first!, "chatwire_fanout_notifications_published_total"), "notifications published by the sender's node").toBeGreaterThan(0);
    expect(sumSamples(first!, "chatwire_fanout_publish_failures_total")).toBe(0);
    expect(sumSamples(second!, "chatwire_subscribe_streams_open"), "streams open on the receiver's node").toBe(1);
    expect(sumSamples(second!, "chatwire_fanout_lag_seconds_count"), "notifications from the other node").toBeGreaterThan(0);
    expect(sumSamples(second!, "chatwire_postgres_pool_connections")).toBeGreaterThan(0);
  });
});
