import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

import { afterEach, describe, expect, it } from "vitest";

import { pickFreePort, startLoadBalancer, type LoadBalancer } from "../src/net/index.js";
import { startLoopbackServer } from "./support/loopback-server.js";

/** A loopback server that greets each connection with its name, then echoes. */
interface NamedBackend {
  name: string;
  port: number;
  accepted: Socket[];
  close(): Promise<void>;
}

async function startNamedBackend(name: string, port = 0): Promise<NamedBackend> {
  const backend = await startLoopbackServer((socket) => {
    socket.write(`${name}:`);
    socket.pipe(socket);
  }, port);
  return { name, port: backend.port, accepted: backend.accepted, close: backend.close };
}

/** A client connection and what it received. */
interface Client {
  socket: Socket;
  received(): string;
  closed: Promise<void>;
}

function connectClient(port: number): Client {
  const socket = connect({ host: "127.0.0.1", port });
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  cleanups.push(() => void socket.destroy());
  return { socket, received: () => Buffer.concat(chunks).toString("latin1"), closed };
}

/** Connects a client and returns the name of the backend that greeted it. */
async function greetedBy(balancer: LoadBalancer): Promise<string> {
  const client = connectClient(balancer.port);
  await waitFor(() => client.received().includes(":"), "a greeting");
  return client.received().split(":")[0]!;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(names: string[]): Promise<{ backends: NamedBackend[]; balancer: LoadBalancer }> {
  const backends: NamedBackend[] = [];
  for (const name of names) {
    const backend = await startNamedBackend(name);
    cleanups.push(() => backend.close());
    backends.push(backend);
  }
  const balancer = await startLoadBalancer({
    backends: backends.map((backend) => ({ host: "127.0.0.1", port: backend.port })),
  });
  cleanups.push(() => balancer.close());
  return { backends, balancer };
}

describe("load balancer", () => {
  it("hands connections to the backends in turn", async () => {
    const { balancer } = await setUp(["a", "b", "c"]);

    const order: string[] = [];
    for (let i = 0; i < 6; i++) order.push(await greetedBy(balancer));

    expect(order).toEqual(["a", "b", "c", "a", "b", "c"]);
    const stats = balancer.stats();
    expect(stats.connectionsAccepted).toBe(6);
    expect(stats.backends.map((backend) => backend.connectionsForwarded)).toEqual([2, 2, 2]);
    expect(stats.backends.map((backend) => backend.connectionsOpen)).toEqual([2, 2, 2]);
  });

  it("carries 4 MiB intact in both directions", async () => {
    const { balancer } = await setUp(["a"]);
    const client = connectClient(balancer.port);
    const payload = randomBytes(4 * 1024 * 1024);

    client.socket.write(payload);
    const expectedLength = "a:".length + payload.length;
    await waitFor(() => client.received().length >= expectedLength, "the 4 MiB echo", 20_000);

    const echoed = Buffer.from(client.received().slice(2), "latin1");
    const digest = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
    expect(echoed.length).toBe(payload.length);
    expect(digest(echoed)).toBe(digest(payload));
  });

  it("skips a backend that refuses connections", async () => {
    const { backends, balancer } = await setUp(["a", "b", "c"]);
    await backends[1]!.close();

    const order: string[] = [];
    for (let i = 0; i < 6; i++) order.push(await greetedBy(balancer));

    expect(order).not.toContain("b");
    expect(order.filter((name) => name === "a").length).toBeGreaterThanOrEqual(2);
    expect(order.filter((name) => name === "c").length).toBeGreaterThanOrEqual(2);
    const stats = balancer.stats();
    expect(stats.backends[1]!.connectionsForwarded).toBe(0);
    expect(stats.backends[1]!.connectFailures).toBe(2);
  });

  it("uses a backend again once it accepts", async () => {
    const { backends, balancer } = await setUp(["a", "b"]);
    const port = backends[1]!.port;
    await backends[1]!.close();
    expect([await greetedBy(balancer), await greetedBy(balancer)]).toEqual(["a", "a"]);

    const restarted = await startNamedBackend("b-again", port);
    cleanups.push(() => restarted.close());
    const order = [await greetedBy(balancer), await greetedBy(balancer)];

    expect(order.sort()).toEqual(["a", "b-again"]);
  });

  it("closes the client when its backend dies", async () => {
    const { backends, balancer } = await setUp(["a", "b"]);
    const onA = connectClient(balancer.port);
    const onB = connectClient(balancer.port);
    await waitFor(() => onA.received() === "a:" && onB.received() === "b:", "both greetings");

    for (const socket of backends[0]!.accepted) socket.destroy();
    await onA.closed;

    onB.socket.write("still here");
    await waitFor(() => onB.received() === "b:still here", "the echo on the other backend");
    expect(balancer.stats().backends.map((backend) => backend.connectionsOpen)).toEqual([0, 1]);
  });

  it("closes the client when no backend accepts", async () => {
    const { backends, balancer } = await setUp(["a", "b"]);
    for (const backend of backends) await backend.close();

    const client = connectClient(balancer.port);
    await client.closed;

    expect(client.received()).toBe("");
    const stats = balancer.stats();
    expect(stats.connectionsRejected).toBe(1);
    expect(stats.backends.map((backend) => backend.connectFailures)).toEqual([1, 1]);
  });

  it("close() ends every connection and stops listening", async () => {
    const { balancer } = await setUp(["a"]);
    const client = connectClient(balancer.port);
    await waitFor(() => client.received() === "a:", "the greeting");

    await balancer.close();
    await client.closed;

    const late = connectClient(balancer.port);
    await late.closed;
    expect(late.received()).toBe("");
  });

  it("rejects a backend that is not loopback", async () => {
    await expect(startLoadBalancer({ backends: [{ host: "192.0.2.1", port: 80 }] })).rejects.toThrow(
      /not a loopback address/,
    );
  });

  it("rejects an empty backend list", async () => {
    await expect(startLoadBalancer({ backends: [] })).rejects.toThrow(/at least one backend/);
  });

  it("skips a refused port without waiting for the timeout", async () => {
    const unused = await pickFreePort();
    const live = await startNamedBackend("live");
    cleanups.push(() => live.close());
    const balancer = await startLoadBalancer({
      backends: [
        { host: "127.0.0.1", port: unused },
        { host: "127.0.0.1", port: live.port },
      ],
      connectTimeoutMs: 60_000,
    });
    cleanups.push(() => balancer.close());

    const started = performance.now();
    expect(await greetedBy(balancer)).toBe("live");
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
