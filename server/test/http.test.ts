import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runServerCommand } from "./support/command.js";
import { directConversation, send, startTestServer, tempDir, type TestServer } from "./support/server.js";

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer();
});
afterAll(() => test.close());

describe("HTTP endpoints", () => {
  it("answers /healthz with ok", async () => {
    const response = await fetch(`${test.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
  });

  it("exports metrics in the Prometheus format", async () => {
    const alice = await test.as("metrics-alice");
    const id = await directConversation(alice, "bob");
    await send(alice, id, "counted");
    const text = await (await fetch(`${test.url}/metrics`)).text();
    expect(text).toMatch(/^chatwire_messages_committed_total [1-9]/m);
    expect(text).toMatch(/^chatwire_store_commit_latency_seconds_count [1-9]/m);
    expect(text).toMatch(/^chatwire_store_commit_batch_size_count [1-9]/m);
    expect(text).toContain('chatwire_rpc_requests_total{method="SendMessage",code="ok"}');
    expect(text).toMatch(/^chatwire_subscribe_streams_open 0/m);
  });

  it("answers CORS preflights and exposes the error headers", async () => {
    const preflight = await fetch(`${test.url}/chatwire.v1.ChatService/SendMessage`, {
      method: "OPTIONS",
      headers: {
        origin: "http://app.test",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,authorization,connect-protocol-version",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://app.test");
    expect(preflight.headers.get("access-control-allow-methods")).toBe("POST, GET, OPTIONS");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("content-type,authorization,connect-protocol-version");

    const call = await fetch(`${test.url}/chatwire.v1.ChatService/GetServerInfo`, {
      method: "POST",
      headers: { origin: "http://app.test", "content-type": "application/json", "connect-protocol-version": "1" },
      body: "{}",
    });
    expect(call.status).toBe(401);
    expect(call.headers.get("access-control-allow-origin")).toBe("http://app.test");
    expect(call.headers.get("access-control-expose-headers")).toContain("grpc-status-details-bin");
  });

  it("returns 404 for unknown paths", async () => {
    expect((await fetch(`${test.url}/nothing-here`)).status).toBe(404);
  });
});

describe("chatwire-server command", () => {
  const run = runServerCommand;

  it("documents every flag in --help", async () => {
    const help = run(["--help"]);
    expect(await help.exited).toBe(0);
    for (const flag of ["--port", "--host", "--data-dir", "--dev", "--jwt-secret", "--jwks-file", "--jwt-issuer", "--jwt-audience", "--max-message-bytes", "--max-members", "--max-page-size", "--max-long-poll-ms", "--heartbeat-ms", "--max-streams-per-user", "--rate-limit", "--retention-seconds", "--prune-interval-ms", "--sqlite-synchronous", "--log-level"]) {
      expect(help.output()).toContain(flag);
    }
    expect(help.output()).toContain("CHATWIRE_MAX_STREAMS_PER_USER");
    expect(help.output()).toContain("0.0.0.0");
  });

  it("names the flag and the expected value for bad input", async () => {
    const bad = run(["--max-message-bytes", "lots", "--dev"]);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('--max-message-bytes is "lots"; expected a whole number');
    const fromEnv = run([], { CHATWIRE_SQLITE_SYNCHRONOUS: "sometimes" });
    expect(await fromEnv.exited).toBe(2);
    expect(fromEnv.output()).toContain("CHATWIRE_SQLITE_SYNCHRONOUS");
  });

  it("refuses to start without a way to verify tokens", async () => {
    const refused = run(["--port", "0"], { CHATWIRE_JWT_SECRET: "", CHATWIRE_DEV: "" });
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toContain("--jwt-secret");
  });

  it("starts in dev mode, serves tokens and exits 0 on SIGTERM", async () => {
    const dir = tempDir();
    const server = run(["--dev", "--port", "0", "--data-dir", dir.path]);
    try {
      const deadline = Date.now() + 20_000;
      while (!server.output().includes("/dev/token") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(server.output())?.[0];
      expect(url).toBeDefined();
      const token = (await (await fetch(`${url}/dev/token?user=alice`)).json()) as { user_id: string };
      expect(token.user_id).toBe("alice");
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(server.output()).toContain("chatwire server stopped");
    } finally {
      server.child.kill("SIGKILL");
      dir.remove();
    }
  }, 30_000);
});
