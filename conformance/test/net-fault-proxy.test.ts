import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

import { afterEach, describe, expect, it } from "vitest";

import { startFaultProxy, type FaultProxy } from "../src/net/index.js";
import { startLoopbackServer, type LoopbackServer } from "./support/loopback-server.js";

/** A loopback TCP server for the proxy to forward to, with the sockets it accepted and the bytes it received. */
interface Target extends LoopbackServer {
  received: Buffer[];
}

/** Starts a target that echoes every byte back, or runs `onConnection` instead. */
async function startTarget(onConnection?: (socket: Socket) => void): Promise<Target> {
  const received: Buffer[] = [];
  const target = await startLoopbackServer((socket) => {
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    if (onConnection) onConnection(socket);
    else socket.pipe(socket);
  });
  return { ...target, received };
}

/** A client socket with everything it received and whether it closed. */
interface Client {
  socket: Socket;
  received(): Buffer;
  closed: Promise<void>;
  isClosed(): boolean;
}

async function connectClient(port: number): Promise<Client> {
  const socket = connect({ host: "127.0.0.1", port });
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  const closedPromise = new Promise<void>((resolve) =>
    socket.once("close", () => {
      closed = true;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return {
    socket,
    received: () => Buffer.concat(chunks),
    closed: closedPromise,
    isClosed: () => closed,
  };
}

/** Polls `condition` every 5 ms and fails after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

async function withTimeout<T>(promise: Promise<T>, what: string, timeoutMs = 5_000): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      }),
    ]);
  } finally {
    timer.abort();
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(onConnection?: (socket: Socket) => void): Promise<{ target: Target; proxy: FaultProxy }> {
  const target = await startTarget(onConnection);
  cleanups.push(() => target.close());
  const proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: target.port } });
  cleanups.push(() => proxy.close());
  return { target, proxy };
}

async function openClient(proxy: FaultProxy): Promise<Client> {
  const client = await connectClient(proxy.port);
  cleanups.push(() => {
    client.socket.destroy();
  });
  return client;
}

describe("fault proxy", () => {
  describe("as a pass-through", () => {
    it("forwards bytes both ways and counts them", async () => {
      const { proxy } = await setUp();
      const client = await openClient(proxy);

      client.socket.write("hello");
      await waitFor(() => client.received().length === 5, "the echo");

      expect(client.received().toString()).toBe("hello");
      const stats = proxy.stats();
      expect(stats.connectionsAccepted).toBe(1);
      expect(stats.connectionsOpen).toBe(1);
      expect(stats.bytesToServer).toBe(5);
      expect(stats.bytesToClient).toBe(5);
      expect(stats.cuts).toBe(0);
    });

    it("carries 8 MiB intact through backpressure", async () => {
      const { proxy } = await setUp();
      const client = await openClient(proxy);
      const payload = randomBytes(8 * 1024 * 1024);

      client.socket.write(payload);
      await waitFor(() => client.received().length >= payload.length, "the 8 MiB echo", 20_000);

      const digest = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
      expect(client.received().length).toBe(payload.length);
      expect(digest(client.received())).toBe(digest(payload));
    });

    it("forwards a half-close to the target", async () => {
      const { target, proxy } = await setUp((socket) => {
        socket.on("end", () => socket.end("bye"));
      });
      const client = await openClient(proxy);

      client.socket.end("last words");
      await withTimeout(client.closed, "the connection to close");

      expect(Buffer.concat(target.received).toString()).toBe("last words");
      expect(client.received().toString()).toBe("bye");
    });

    it("rejects a target that is not loopback", async () => {
      await expect(startFaultProxy({ target: { host: "192.0.2.1", port: 80 } })).rejects.toThrow(
        /not a loopback address/,
      );
    });
  });

  describe("delay", () => {
    it("holds each chunk in each direction and keeps order", async () => {
      const { proxy } = await setUp();
      const client = await openClient(proxy);
      proxy.delay(100);

      const started = performance.now();
      for (let i = 0; i < 10; i++) client.socket.write(`${i},`);
      await waitFor(() => client.received().toString().endsWith("9,"), "the delayed echo");
      const elapsed = performance.now() - started;

      expect(client.received().toString()).toBe("0,1,2,3,4,5,6,7,8,9,");
      // 100 ms to the server and 100 ms back; timers may fire a little early.
      expect(elapsed).toBeGreaterThanOrEqual(195);
    });

    it("rejects a negative delay", async () => {
      const { proxy } = await setUp();
      expect(() => proxy.delay(-1)).toThrow(/delay -1 ms is invalid/);
    });
  });

  describe("stall", () => {
    it("forwards nothing and closes nothing until resume", async () => {
      const { target, proxy } = await setUp();
      const client = await openClient(proxy);
      client.socket.write("before");
      await waitFor(() => client.received().length === 6, "the echo before the stall");

      proxy.stall();
      client.socket.write("during");
      await sleep(300);

      expect(client.received().toString()).toBe("before");
      expect(Buffer.concat(target.received).toString()).toBe("before");
      expect(client.isClosed()).toBe(false);
      expect(target.accepted[0]?.destroyed).toBe(false);

      proxy.resume();
      await waitFor(() => client.received().length === 12, "the echo after resume");
      expect(client.received().toString()).toBe("beforeduring");
    });

    it("also holds connections opened during the stall", async () => {
      const { target, proxy } = await setUp();
      proxy.stall();
      const client = await openClient(proxy);
      client.socket.write("late");
      await sleep(200);

      expect(client.received().length).toBe(0);
      expect(target.received.length).toBe(0);

      proxy.resume();
      await waitFor(() => client.received().toString() === "late", "the echo after resume");
    });
  });

  describe("cutAll", () => {
    it("closes every open connection and accepts new ones", async () => {
      const { target, proxy } = await setUp();
      const first = await openClient(proxy);
      const second = await openClient(proxy);
      await waitFor(() => target.accepted.length === 2, "both upstream connections");

      proxy.cutAll();
      await withTimeout(Promise.all([first.closed, second.closed]), "both clients to close");
      await waitFor(() => target.accepted.every((socket) => socket.destroyed), "the target sockets to close");
      expect(proxy.stats().cuts).toBe(2);
      expect(proxy.stats().connectionsOpen).toBe(0);

      const third = await openClient(proxy);
      third.socket.write("again");
      await waitFor(() => third.received().toString() === "again", "an echo on a new connection");
    });
  });

  describe("cutAtAge", () => {
    it("cuts each connection at its own age", async () => {
      const { proxy } = await setUp();
      const old = await openClient(proxy);
      await sleep(150);
      const young = await openClient(proxy);

      proxy.cutAtAge(300);
      await withTimeout(old.closed, "the older connection to be cut");
      expect(young.isClosed()).toBe(false);
      young.socket.write("still here");
      await waitFor(() => young.received().toString() === "still here", "an echo on the younger connection");
      await withTimeout(young.closed, "the younger connection to be cut");
      expect(proxy.stats().cuts).toBe(2);
    });

    it("limits new connections until reset", async () => {
      const { proxy } = await setUp();
      proxy.cutAtAge(100);
      const first = await openClient(proxy);
      await withTimeout(first.closed, "the first connection to be cut");

      proxy.reset();
      const second = await openClient(proxy);
      await sleep(300);
      expect(second.isClosed()).toBe(false);
      expect(proxy.stats().cuts).toBe(1);
    });

    it("rejects an age of 0", async () => {
      const { proxy } = await setUp();
      expect(() => proxy.cutAtAge(0)).toThrow(/cutAtAge\(0\) is invalid/);
    });
  });

  describe("cutAfterResponseBytes", () => {
    it("delivers exactly n response bytes and then closes", async () => {
      const payload = randomBytes(100_000);
      const { proxy } = await setUp((socket) => socket.write(payload));
      proxy.cutAfterResponseBytes(1_000);

      const client = await openClient(proxy);
      await withTimeout(client.closed, "the cut");

      expect(client.received().length).toBe(1_000);
      expect(client.received().equals(payload.subarray(0, 1_000))).toBe(true);
      expect(proxy.stats().cuts).toBe(1);
    });

    it("counts from the call on an open connection", async () => {
      const { proxy } = await setUp();
      const client = await openClient(proxy);
      client.socket.write("0123456789");
      await waitFor(() => client.received().length === 10, "the first echo");

      proxy.cutAfterResponseBytes(4);
      client.socket.write("abcdefgh");
      await withTimeout(client.closed, "the cut");

      expect(client.received().toString()).toBe("0123456789abcd");
    });

    it("stays armed for new connections until reset", async () => {
      const { proxy } = await setUp((socket) => socket.write("xxxxxxxxxx"));
      proxy.cutAfterResponseBytes(3);

      const first = await openClient(proxy);
      await withTimeout(first.closed, "the first cut");
      const second = await openClient(proxy);
      await withTimeout(second.closed, "the second cut");
      expect(first.received().toString()).toBe("xxx");
      expect(second.received().toString()).toBe("xxx");

      proxy.reset();
      const third = await openClient(proxy);
      await waitFor(() => third.received().length === 10, "the full greeting");
      expect(third.isClosed()).toBe(false);
    });
  });

  describe("cutOnNextResponse", () => {
    it("lets the request reach the server and loses the response", async () => {
      const { target, proxy } = await setUp();
      const client = await openClient(proxy);
      const cut = proxy.cutOnNextResponse();

      client.socket.write("commit me");
      await withTimeout(cut, "the cut");
      await withTimeout(client.closed, "the client to close");

      expect(Buffer.concat(target.received).toString()).toBe("commit me");
      expect(client.received().length).toBe(0);
      expect(proxy.stats().bytesDropped).toBe(9);
      expect(proxy.stats().cuts).toBe(1);
    });

    it("acts once and then passes through", async () => {
      const { proxy } = await setUp();
      const first = await openClient(proxy);
      const cut = proxy.cutOnNextResponse();
      first.socket.write("one");
      await withTimeout(cut, "the cut");

      const second = await openClient(proxy);
      second.socket.write("two");
      await waitFor(() => second.received().toString() === "two", "the echo after the cut");
      expect(second.isClosed()).toBe(false);
    });
  });

  describe("blackhole", () => {
    it("accepts, never forwards, never answers", async () => {
      const { target, proxy } = await setUp();
      proxy.blackhole();

      const client = await openClient(proxy);
      client.socket.write("anyone there?");
      await sleep(300);

      expect(client.received().length).toBe(0);
      expect(client.isClosed()).toBe(false);
      expect(target.accepted.length).toBe(0);
      expect(proxy.stats().bytesDropped).toBe(13);
      expect(proxy.stats().connectionsOpen).toBe(1);
    });

    it("keeps current connections forwarding", async () => {
      const { proxy } = await setUp();
      const client = await openClient(proxy);
      proxy.blackhole();

      client.socket.write("still here");
      await waitFor(() => client.received().toString() === "still here", "the echo");
    });

    it("closes held connections on reset", async () => {
      const { proxy } = await setUp();
      proxy.blackhole();
      const held = await openClient(proxy);

      proxy.reset();
      await withTimeout(held.closed, "the held connection to close");

      const fresh = await openClient(proxy);
      fresh.socket.write("back");
      await waitFor(() => fresh.received().toString() === "back", "the echo after reset");
    });
  });

  describe("reset", () => {
    it("clears delay, stall and armed cuts", async () => {
      const { proxy } = await setUp();
      const client = await openClient(proxy);
      proxy.delay(10_000);
      proxy.stall();
      proxy.cutAfterResponseBytes(0);
      void proxy.cutOnNextResponse();

      proxy.reset();
      client.socket.write("plain");
      await waitFor(() => client.received().toString() === "plain", "a plain echo", 2_000);
      expect(client.isClosed()).toBe(false);
      expect(proxy.stats().cuts).toBe(0);
    });
  });

  describe("close", () => {
    it("leaves no handles open", async () => {
      const count = (kind: string) =>
        process.getActiveResourcesInfo().filter((name) => name.startsWith(kind)).length;
      const handles = () => ({ tcp: count("TCP"), timers: count("Timeout") });
      // Sockets of earlier tests release their handles shortly after "close".
      await sleep(50);
      const baseline = handles();
      const target = await startTarget();
      const proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: target.port } });
      const client = await connectClient(proxy.port);
      client.socket.write("x");
      await waitFor(() => client.received().length === 1, "the echo");
      proxy.delay(50);
      client.socket.write("queued");
      proxy.blackhole();
      const held = await connectClient(proxy.port);

      await proxy.close();
      await withTimeout(Promise.all([client.closed, held.closed]), "the clients to close");
      await target.close();
      // Socket handles are released one tick after "close".
      await sleep(20);

      const after = handles();
      expect(after.tcp).toBe(baseline.tcp);
      // The test runner's own timers may end meanwhile, so only growth is a leak.
      expect(after.timers).toBeLessThanOrEqual(baseline.timers);
    });
  });
});
