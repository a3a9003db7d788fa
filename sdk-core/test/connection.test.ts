import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { ConnectionState } from "../src/connection/state.js";
import { settle } from "./support/fake-clock.js";
import { makeClient, setup, storedMessages } from "./support/harness.js";

const kinds = (states: [ConnectionState, ConnectionState][]) => states.map(([next]) => next.kind);

describe("Connection state", () => {
  it("is closed with reason 'not started' before start()", () => {
    const { server } = setup();
    const alice = makeClient(server, "alice");
    expect(alice.client.connectionState).toEqual({ kind: "closed", reason: "not started" });
  });

  it("goes from connecting to connected and emits each change with the previous state", async () => {
    const { clock, server } = setup();
    const alice = makeClient(server, "alice");
    await alice.client.start();
    await clock.advance(10);

    expect(alice.states).toEqual([
      [{ kind: "connecting", attempt: 0 }, { kind: "closed", reason: "not started" }],
      [{ kind: "connected", via: "stream" }, { kind: "connecting", attempt: 0 }],
    ]);
    await alice.client.close();
    expect(alice.states.at(-1)).toEqual([{ kind: "closed", reason: "closed" }, { kind: "connected", via: "stream" }]);
  });

  it("waits with the attempt, delay, retry time and reason after a failure", async () => {
    const { clock, server } = setup();
    server.failNext("Sync", 2, Code.Unavailable);
    const alice = makeClient(server, "alice");
    await alice.client.start();
    await settle();

    const waiting = alice.client.connectionState;
    expect(waiting).toMatchObject({ kind: "waiting", attempt: 1, reason: "injected Sync failure" });
    if (waiting.kind !== "waiting") throw new Error("not waiting");
    expect(waiting.delayMs).toBeGreaterThanOrEqual(0);
    expect(waiting.delayMs).toBeLessThan(500);
    expect(waiting.retryAt).toBe(clock.now() + waiting.delayMs);

    await clock.advance(500);
    expect(alice.client.connectionState).toMatchObject({ kind: "waiting", attempt: 2 });
    const second = alice.client.connectionState as Extract<ConnectionState, { kind: "waiting" }>;
    expect(second.delayMs).toBeLessThan(1_000);

    await clock.advance(1_000);
    expect(alice.client.connectionState).toEqual({ kind: "connected", via: "stream" });
    expect(kinds(alice.states)).toEqual(["connecting", "waiting", "connecting", "waiting", "connecting", "connected"]);
    expect(alice.states.filter(([next]) => next.kind === "connecting").map(([next]) => next)).toEqual([
      { kind: "connecting", attempt: 0 },
      { kind: "connecting", attempt: 1 },
      { kind: "connecting", attempt: 2 },
    ]);
    await alice.client.close();
  });

  it("retries at once on syncNow() while waiting", async () => {
    const { server } = setup({});
    server.failNext("Sync", 1, Code.Unavailable);
    const alice = makeClient(server, "alice", { backoffBaseMs: 60_000, backoffCapMs: 60_000, random: () => 0.99 });
    await alice.client.start();
    await settle();
    expect(alice.client.connectionState.kind).toBe("waiting");

    await alice.client.syncNow();
    await settle();
    expect(alice.client.connectionState).toEqual({ kind: "connected", via: "stream" });
    await alice.client.close();
  });

  it("goes offline and back with the network", async () => {
    const { clock, server } = setup();
    const alice = makeClient(server, "alice");
    await alice.client.start();
    await clock.advance(10);

    alice.client.setNetworkAvailable(false);
    expect(alice.client.connectionState).toEqual({ kind: "offline" });
    await settle();
    expect(clock.pendingTimers).toBe(0);

    alice.client.setNetworkAvailable(true);
    await clock.advance(10);
    expect(kinds(alice.states).slice(-3)).toEqual(["offline", "connecting", "connected"]);
    await alice.client.close();
  });

  it("does not connect when started offline", async () => {
    const { clock, server } = setup();
    const alice = makeClient(server, "alice", { online: false });
    await alice.client.start();
    await clock.advance(60_000);
    expect(alice.client.connectionState).toEqual({ kind: "offline" });
    expect(server.calls).toEqual([]);
  });
});

describe("Event stream", () => {
  describe("when it goes silent without closing", () => {
    it("reconnects within 2.5 heartbeats and misses nothing", async () => {
      const { clock, server, conversationId } = setup({ heartbeatIntervalMs: 1_000 });
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);
      server.stallOpenStreams();
      server.post("alice", conversationId, "sent while the stream was dead");

      await clock.advance(2_400);
      expect(bob.client.connectionState).toEqual({ kind: "connected", via: "stream" });
      expect(await storedMessages(bob.storage, conversationId)).toEqual([]);

      await clock.advance(1_200);
      const waiting = bob.states.find(([next]) => next.kind === "waiting")?.[0];
      expect(waiting).toMatchObject({ kind: "waiting", reason: expect.stringContaining("no frame for 2500 ms") });
      expect(server.count("Subscribe")).toBe(2);
      expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(["sent while the stream was dead"]);
      expect(bob.client.connectionState).toEqual({ kind: "connected", via: "stream" });
      await bob.client.close();
    });

    it("stays connected while heartbeats arrive", async () => {
      const { clock, server } = setup({ heartbeatIntervalMs: 1_000 });
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(60_000);
      expect(server.count("Subscribe")).toBe(1);
      expect(kinds(bob.states)).toEqual(["connecting", "connected"]);
      await bob.client.close();
    });
  });

  describe("when streams send no first frame (a buffering proxy)", () => {
    it("falls back to long-polling Sync after two attempts and streams again later", async () => {
      const { clock, server, conversationId } = setup();
      server.stallNextStreams(2);
      const bob = makeClient(server, "bob", { firstFrameTimeoutMs: 5_000, streamRetryIntervalMs: 120_000 });
      await bob.client.start();
      await clock.advance(5_000);
      expect(bob.client.connectionState.kind).toBe("waiting");
      await clock.advance(5_600);
      expect(bob.client.connectionState).toEqual({ kind: "connected", via: "long-poll" });

      server.post("alice", conversationId, "via long-poll");
      await clock.advance(10);
      expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(["via long-poll"]);
      const polls = server.calls.filter((call) => call.method === "Sync" && (call.request as { waitMs: number }).waitMs > 0);
      expect(polls.length).toBeGreaterThan(0);
      expect((polls[0]!.request as { waitMs: number }).waitMs).toBe(25_000);

      // Streaming is tried again when the interval has passed and the long-poll in flight returns.
      await clock.advance(120_000 + 25_000);
      expect(bob.client.connectionState).toEqual({ kind: "connected", via: "stream" });
      expect(server.count("Subscribe")).toBe(3);
      await bob.client.close();
    });
  });

  describe("when the token expires", () => {
    it("gets a fresh token once and resumes without losing or repeating events", async () => {
      const { clock, server, conversationId } = setup();
      const bob = makeClient(server, "bob");
      await bob.client.start();
      server.post("alice", conversationId, "before");
      await clock.advance(10);

      server.expireTokens("bob");
      server.post("alice", conversationId, "after");
      await clock.advance(10);

      expect(bob.tokenRequests).toEqual(["initial", "expired"]);
      expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(["before", "after"]);
      expect(bob.events.filter((event) => event.type === "message")).toHaveLength(2);
      expect(bob.client.connectionState).toEqual({ kind: "connected", via: "stream" });
      expect(kinds(bob.states)).not.toContain("waiting");
      await bob.client.close();
    });

    it("waits with the reason when the fresh token is rejected too", async () => {
      const { clock, server } = setup();
      const stale = server.tokenFor("bob");
      const requests: string[] = [];
      const bob = makeClient(server, "bob", {
        random: () => 0.5,
        getToken: async ({ reason }) => {
          requests.push(reason);
          return stale;
        },
      });
      server.expireTokens("bob");
      await bob.client.start();
      await clock.advance(10);

      expect(requests).toEqual(["initial", "expired"]);
      expect(bob.client.connectionState).toEqual({
        kind: "waiting",
        attempt: 1,
        delayMs: 250,
        retryAt: clock.now() - 10 + 250,
        reason: "token expired",
      });

      // The next attempt requests a token once more before it waits again.
      await clock.advance(250);
      expect(requests).toEqual(["initial", "expired", "expired"]);
      expect(bob.client.connectionState).toMatchObject({ kind: "waiting", attempt: 2 });
      await bob.client.close();
    });

    it("refreshes the token for a send and sends it", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice", { online: false });
      await alice.client.start();
      alice.client.setNetworkAvailable(true);
      await clock.advance(10);
      alice.client.setNetworkAvailable(false);
      server.expireTokens("alice");
      await alice.client.send(conversationId, "with a new token");
      alice.client.setNetworkAvailable(true);
      await clock.advance(10);
      expect(server.messages(conversationId).map((m) => m.text)).toEqual(["with a new token"]);
      expect(alice.tokenRequests.filter((reason) => reason === "expired")).toHaveLength(1);
      await alice.client.close();
    });
  });
});

describe("Token callback", () => {
  it("retries with backoff when getToken() rejects", async () => {
    const { clock, server } = setup();
    let calls = 0;
    const bob = makeClient(server, "bob", {
      random: () => 0.5,
      getToken: async () => {
        calls += 1;
        if (calls === 1) throw new Error("auth backend unreachable");
        return server.tokenFor("bob");
      },
    });
    await bob.client.start();
    await settle();
    expect(bob.client.connectionState).toMatchObject({
      kind: "waiting",
      reason: 'getToken({ reason: "initial" }) failed; the client retries with backoff',
    });

    await clock.advance(300);
    expect(bob.client.connectionState).toEqual({ kind: "connected", via: "stream" });
    expect(server.calls.every((call) => call.userId === "bob")).toBe(true);
    await bob.client.close();
  });
});
