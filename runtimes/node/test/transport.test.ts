import { spawn } from "node:child_process";
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createClient, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ChatService } from "@chatwire/gen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeTransport, type NodeTransportOptions } from "../src/index.js";

interface SeenRequest {
  httpVersion: string;
  contentType: string | undefined;
}

const seen: SeenRequest[] = [];
const sessions = new Set<http2.ServerHttp2Session>();
const handler = connectNodeAdapter({
  routes: (router: ConnectRouter) =>
    router.service(ChatService, { getServerInfo: () => ({ serverVersion: "transport-test/1" }) }),
});
const record = (request: http.IncomingMessage | http2.Http2ServerRequest) =>
  seen.push({ httpVersion: request.httpVersion, contentType: request.headers["content-type"] });

// Two listeners, because a cleartext HTTP/2 server does not accept HTTP/1.1.
const h2Server = http2.createServer((request, response) => {
  record(request);
  handler(request, response);
});
const h1Server = http.createServer((request, response) => {
  record(request);
  handler(request, response);
});
h2Server.on("session", (session) => {
  sessions.add(session);
  session.on("close", () => sessions.delete(session));
});

let h2Url = "";
let h1Url = "";

async function listen(server: http.Server | http2.Http2Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  h2Url = await listen(h2Server);
  h1Url = await listen(h1Server);
});

afterAll(async () => {
  for (const session of sessions) session.close();
  await new Promise((resolve) => h2Server.close(resolve));
  h1Server.closeAllConnections();
  await new Promise((resolve) => h1Server.close(resolve));
});

async function callOnce(options: Omit<NodeTransportOptions, "baseUrl">): Promise<SeenRequest> {
  const baseUrl = options.httpVersion === "1.1" ? h1Url : h2Url;
  const client = createClient(ChatService, createNodeTransport({ baseUrl, idleConnectionTimeoutMs: 500, ...options }));
  seen.length = 0;

  const info = await client.getServerInfo({});

  expect(info.serverVersion).toBe("transport-test/1");
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

describe("createNodeTransport", () => {
  it("speaks Connect over HTTP/2 by default", async () => {
    const request = await callOnce({});

    expect(request.httpVersion).toBe("2.0");
    expect(request.contentType).toBe("application/proto");
  });

  it.each([
    { protocol: "connect", httpVersion: "2", contentType: "application/proto", wire: "2.0" },
    { protocol: "connect", httpVersion: "1.1", contentType: "application/proto", wire: "1.1" },
    { protocol: "grpc", httpVersion: "2", contentType: "application/grpc+proto", wire: "2.0" },
    { protocol: "grpc-web", httpVersion: "2", contentType: "application/grpc-web+proto", wire: "2.0" },
    { protocol: "grpc-web", httpVersion: "1.1", contentType: "application/grpc-web+proto", wire: "1.1" },
  ] as const)("speaks $protocol over HTTP $httpVersion", async ({ protocol, httpVersion, contentType, wire }) => {
    const request = await callOnce({ protocol, httpVersion });

    expect(request.httpVersion).toBe(wire);
    expect(request.contentType).toBe(contentType);
  });

  it("rejects gRPC over HTTP/1.1", () => {
    expect(() => createNodeTransport({ baseUrl: h1Url, protocol: "grpc", httpVersion: "1.1" })).toThrow(
      'protocol "grpc" needs httpVersion "2"',
    );
  });

  it.each([0, -1, Number.NaN])("rejects idleConnectionTimeoutMs %s", (idleConnectionTimeoutMs) => {
    expect(() => createNodeTransport({ baseUrl: h2Url, idleConnectionTimeoutMs })).toThrow(
      `idleConnectionTimeoutMs is ${idleConnectionTimeoutMs}; use a positive number of milliseconds`,
    );
  });

  it("closes an idle HTTP/2 connection after the timeout", async () => {
    const client = createClient(ChatService, createNodeTransport({ baseUrl: h2Url, idleConnectionTimeoutMs: 200 }));
    await client.getServerInfo({});
    expect(sessions.size).toBeGreaterThan(0);

    // Bounded wait: the connection should close about 200 ms after the call.
    for (let waited = 0; sessions.size > 0 && waited < 5_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    expect(sessions.size).toBe(0);
  });

  it("lets the process exit after its last call", { timeout: 20_000 }, async () => {
    const script = fileURLToPath(new URL("./fixtures/call-once.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", script, h2Url], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);

    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on("exit", (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
    );
    clearTimeout(timer);

    expect(signal, `killed after 15 s; output: ${output}`).toBeNull();
    expect(code, output).toBe(0);
    expect(output).toBe("transport-test/1\n");
  });
});
