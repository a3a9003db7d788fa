import { createClient, Code } from "@connectrpc/connect";
import { ChatService, ErrorReason } from "@chatwire/gen";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, startServer } from "../src/index.js";
import { expectConnectError } from "./support/errors.js";
import { SECRET, bearer, createTransport, startTestServer, tempDir, type TestServer } from "./support/server.js";

const ed25519 = await generateKeyPair("EdDSA", { crv: "Ed25519" });
const publicJwk = { ...(await exportJWK(ed25519.publicKey)), kid: "test-key", alg: "EdDSA" };

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer({ jwks: { keys: [publicJwk] }, jwtIssuer: "https://issuer.test", heartbeatMs: 100 });
});
afterAll(() => test.close());

function chatWith(authorization: string | undefined) {
  const interceptors = authorization === undefined ? [] : [bearer(authorization)];
  return createClient(ChatService, createTransport("connect-h1", test.url, interceptors));
}

describe("bearer tokens", () => {
  it("rejects a call without a token", async () => {
    const chat = createClient(ChatService, createTransport("connect-h2", test.url));
    const { error } = await expectConnectError(chat.getServerInfo({}), Code.Unauthenticated, ErrorReason.TOKEN_INVALID);
    expect(error.rawMessage).toContain("Authorization header is missing");
  });

  it("rejects a malformed token", async () => {
    await expectConnectError(chatWith("not.a.jwt").getServerInfo({}), Code.Unauthenticated, ErrorReason.TOKEN_INVALID);
  });

  it("rejects a forged signature", async () => {
    const forged = await mintToken({ secret: "another-secret-of-at-least-32-bytes!", userId: "alice", ttlSeconds: 60, issuer: "https://issuer.test" });
    await expectConnectError(chatWith(forged).getServerInfo({}), Code.Unauthenticated, ErrorReason.TOKEN_INVALID);
  });

  it("rejects an expired token with its own reason", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice").setIssuer("https://issuer.test").setIssuedAt(now - 120).setExpirationTime(now - 60).sign(new TextEncoder().encode(SECRET));
    await expectConnectError(chatWith(expired).getServerInfo({}), Code.Unauthenticated, ErrorReason.TOKEN_EXPIRED);
  });

  it("checks the issuer when configured", async () => {
    const token = await mintToken({ secret: SECRET, userId: "alice", ttlSeconds: 60, issuer: "https://other.test" });
    await expectConnectError(chatWith(token).getServerInfo({}), Code.Unauthenticated, ErrorReason.TOKEN_INVALID);
    const good = await mintToken({ secret: SECRET, userId: "alice", ttlSeconds: 60, issuer: "https://issuer.test" });
    expect((await chatWith(good).getServerInfo({})).serverVersion).toMatch(/^chatwire-server\//);
  });

  it("rejects a token whose sub is not a valid user id", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("has space").setIssuer("https://issuer.test").setExpirationTime(now + 60).sign(new TextEncoder().encode(SECRET));
    await expectConnectError(chatWith(token).getServerInfo({}), Code.Unauthenticated, ErrorReason.TOKEN_INVALID);
  });

  it.each([
    ["an array", ["alice"], "an array"],
    ["a number", 42, "a number"],
    ["a boolean", true, "a boolean"],
    ["an object", { id: "alice" }, "an object"],
    ["null", null, "null"],
    ["an empty string", "", '""'],
  ])("rejects a sub claim that is %s", async (_name, sub, shown) => {
    const now = Math.floor(Date.now() / 1000);
    // setSubject() accepts strings only, so the claim goes into the payload directly.
    const token = await new SignJWT({ sub } as Record<string, unknown>)
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("https://issuer.test")
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(SECRET));
    const { error } = await expectConnectError(
      chatWith(token).getServerInfo({}),
      Code.Unauthenticated,
      ErrorReason.TOKEN_INVALID,
    );
    expect(error.rawMessage).toContain("sub claim");
    expect(error.rawMessage).toContain(shown);
  });

  it("rejects a token without exp", async () => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice").setIssuer("https://issuer.test").sign(new TextEncoder().encode(SECRET));
    await expectConnectError(chatWith(token).getServerInfo({}), Code.Unauthenticated, ErrorReason.TOKEN_INVALID);
  });

  it("accepts an EdDSA token from the key set", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({}).setProtectedHeader({ alg: "EdDSA", kid: "test-key" }).setSubject("eddsa-user").setIssuer("https://issuer.test").setExpirationTime(now + 60).sign(ed25519.privateKey);
    const info = await chatWith(token).getServerInfo({});
    expect(info.limits?.maxMessageBytes).toBe(16_384);
  });

  it("ends a stream when the token expires", async () => {
    const token = await mintToken({ secret: SECRET, userId: "short-lived", ttlSeconds: 1, issuer: "https://issuer.test" });
    const chat = chatWith(token);
    const started = Date.now();
    const { error } = await expectConnectError(
      (async () => {
        for await (const frame of chat.subscribe({ deviceId: "d" })) void frame;
      })(),
      Code.Unauthenticated,
      ErrorReason.TOKEN_EXPIRED,
    );
    expect(error.rawMessage).toContain("expired");
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("rate limit", () => {
  it("rejects requests over the per-user rate with a retry delay", async () => {
    const limited = await startTestServer({ rateLimit: 5 });
    try {
      const alice = await limited.as("alice");
      const outcomes = await Promise.allSettled(Array.from({ length: 15 }, () => alice.chat.getServerInfo({})));
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled").length).toBeGreaterThanOrEqual(10);
      const rejected = outcomes.find((outcome) => outcome.status === "rejected");
      const { detail } = await expectConnectError(Promise.reject(rejected?.reason), Code.ResourceExhausted, ErrorReason.RATE_LIMITED);
      expect(detail?.retryAfterMs).toBeGreaterThan(0);
      expect(detail?.retryAfterMs).toBeLessThanOrEqual(200);
      const bob = await limited.as("bob");
      expect((await bob.chat.getServerInfo({})).limits?.maxRequestsPerSecond).toBe(5);
      const metrics = await (await fetch(`${limited.url}/metrics`)).text();
      expect(metrics).toMatch(/chatwire_rpc_rate_limited_total [1-9]/);
    } finally {
      await limited.close();
    }
  });
});

describe("start-up", () => {
  it("refuses to start without a secret or key set outside dev mode", async () => {
    const dir = tempDir();
    try {
      await expect(startServer({ port: 0, dataDir: dir.path })).rejects.toThrow(/jwtSecret/);
      await expect(startServer({ port: 0, dataDir: dir.path, jwtSecret: "short" })).rejects.toThrow(/at least 32/);
    } finally {
      dir.remove();
    }
  });

  it("keeps the dev secret across restarts", async () => {
    const dir = tempDir();
    try {
      const first = await startServer({ port: 0, dataDir: dir.path, dev: true });
      const response = await fetch(`${first.url}/dev/token?user=alice&ttl=600`);
      const body = (await response.json()) as { token: string; user_id: string; expires_at: string };
      expect(body.user_id).toBe("alice");
      expect(Date.parse(body.expires_at) - Date.now()).toBeGreaterThan(590_000);
      await first.close();
      const second = await startServer({ port: 0, dataDir: dir.path, dev: true });
      const chat = createClient(ChatService, createTransport("connect-h1", second.url, [bearer(body.token)]));
      expect((await chat.getServerInfo({})).serverVersion).not.toBe("");
      const bad = await fetch(`${second.url}/dev/token?user=${encodeURIComponent("no spaces")}`);
      expect(bad.status).toBe(400);
      await second.close();
    } finally {
      dir.remove();
    }
  });

  it("accepts only decimal dev token ttls", async () => {
    const dir = tempDir();
    const dev = await startServer({ port: 0, dataDir: dir.path, dev: true });
    try {
      for (const ttl of ["1e3", "0x10", " 5", "5.0", "+5", "0", "604801", "99999999999"]) {
        const response = await fetch(`${dev.url}/dev/token?user=alice&ttl=${encodeURIComponent(ttl)}`);
        expect(response.status, `ttl=${ttl}`).toBe(400);
        const body = (await response.json()) as { error: string };
        expect(body.error, `ttl=${ttl}`).toContain("from 1 to 604800");
      }
      const good = await fetch(`${dev.url}/dev/token?user=alice&ttl=604800`);
      expect(good.status).toBe(200);
    } finally {
      await dev.close();
      dir.remove();
    }
  });

  it("serves no dev token outside dev mode", async () => {
    const response = await fetch(`${test.url}/dev/token?user=alice`);
    expect(response.status).toBe(404);
  });
});
