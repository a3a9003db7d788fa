import http2 from "node:http2";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { directConversation, send, startTestServer, type Protocol, type TestServer } from "./support/server.js";

const HEADERS_TIMEOUT_MS = 300;
const REQUEST_TIMEOUT_MS = 300;
const IDLE_TIMEOUT_MS = 200;
/** Upper bound on every wait below, far above the timeouts under test. */
const WAIT_BOUND_MS = 5000;

let test: TestServer;
let port: number;
beforeAll(async () => {
  test = await startTestServer({
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    // Heartbeats far apart, so that an open stream is silent for longer than the idle timeout.
    heartbeatMs: 1000,
  });
  port = Number(new URL(test.url).port);
});
afterAll(() => test.close());

/** Opens a raw TCP connection and resolves once it is connected. */
async function connect(): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("data", () => {});
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  return socket;
}

/** Resolves true when the server closes the socket within WAIT_BOUND_MS, false otherwise. */
function closedByServer(socket: net.Socket): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, WAIT_BOUND_MS);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe("connection timeouts", () => {
  it.each([
    ["2 bytes", "PO"],
    ["3 bytes", "POS"],
    ["partial HTTP/1.1 headers", "POST /chatwire.v1.ChatService/GetServerInfo HTTP/1.1\r\nHost: x\r\n"],
    ["a bare HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
    ["only PRI", "PRI"],
  ])("closes a connection that sent %s", async (_name, payload) => {
    const socket = await connect();
    socket.write(payload);
    expect(await closedByServer(socket)).toBe(true);
  });

  it("closes headers trickled byte by byte", async () => {
    const socket = await connect();
    const head = "POST /chatwire.v1.ChatService/GetServerInfo HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a".repeat(200);
    let index = 0;
    // One byte every 50 ms keeps the socket busy, so only a deadline closes it.
    const trickle = setInterval(() => {
      if (socket.destroyed || index >= head.length) return;
      socket.write(head[index++] ?? "");
    }, 50);
    try {
      expect(await closedByServer(socket)).toBe(true);
      expect(index).toBeLessThan(head.length);
    } finally {
      clearInterval(trickle);
    }
  });

  it("closes a keep-alive connection whose next headers stall", async () => {
    const socket = await connect();
    const first = new Promise<string>((resolve) => socket.once("data", (data: Buffer) => resolve(data.toString("latin1"))));
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(await first).toMatch(/^HTTP\/1\.1 200/);
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    expect(await closedByServer(socket)).toBe(true);
  });

  it("closes a request whose body stalls", async () => {
    const socket = await connect();
    socket.write(
      "POST /chatwire.v1.ChatService/GetServerInfo HTTP/1.1\r\nHost: x\r\n" +
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    );
    expect(await closedByServer(socket)).toBe(true);
  });

  it("closes an idle HTTP/2 session", async () => {
    const session = http2.connect(test.url);
    session.on("error", () => {});
    await new Promise<void>((resolve) => session.once("remoteSettings", () => resolve()));
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), WAIT_BOUND_MS);
      session.once("close", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!closed) session.destroy();
    expect(closed).toBe(true);
  });

  it.each<Protocol>(["grpc", "connect-h2", "connect-h1"])(
    "keeps a %s Subscribe open past the idle timeout",
    async (protocol) => {
      const alice = await test.as(`alice-${protocol}`, protocol);
      const conversationId = await directConversation(alice, "bob");
      const abort = new AbortController();
      const frames: string[] = [];
      const reading = (async () => {
        for await (const frame of alice.chat.subscribe({ deviceId: "d" }, { signal: abort.signal })) {
          frames.push(frame.kind.case ?? "");
          const events = frame.kind.case === "batch" ? frame.kind.value.events : [];
          if (events.some((event) => event.kind.case === "message" && event.kind.value.message?.text === "late")) return;
        }
      })();
      try {
        // Longer than the idle, headers and request timeouts, with no frame in between.
        await new Promise((resolve) => setTimeout(resolve, 4 * IDLE_TIMEOUT_MS));
        await send(alice, conversationId, "late");
        const outcome = await Promise.race([
          reading.then(() => "received"),
          new Promise((resolve) => setTimeout(() => resolve("timed out"), WAIT_BOUND_MS)),
        ]);
        expect(outcome).toBe("received");
        expect(frames[0]).toBe("heartbeat");
      } finally {
        abort.abort();
        await reading.catch(() => undefined);
      }
    },
  );
});
