import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { settle } from "./support/fake-clock.js";
import { makeClient, setup, storedMessages, storedOutbox } from "./support/harness.js";

describe("Lifecycle", () => {
  describe("in the background", () => {
    it("closes the stream and leaves no timer running", async () => {
      const { clock, server } = setup();
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);

      bob.client.background();
      await settle();

      expect(bob.client.connectionState).toEqual({ kind: "suspended" });
      expect(clock.pendingTimers).toBe(0);
      const calls = server.calls.length;
      await clock.advance(600_000);
      expect(server.calls.length).toBe(calls);
      await bob.client.close();
    });

    it("keeps messages sent meanwhile in the outbox", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      alice.client.background();

      await alice.client.send(conversationId, "later");
      await clock.advance(10_000);

      expect(server.messages(conversationId)).toEqual([]);
      expect(await storedOutbox(alice.storage)).toHaveLength(1);
      await alice.client.close();
    });
  });

  describe("back in the foreground", () => {
    it("reconnects and syncs what arrived from the stored cursor", async () => {
      const { clock, server, conversationId } = setup();
      const bob = makeClient(server, "bob");
      await bob.client.start();
      server.post("alice", conversationId, "before");
      await clock.advance(10);
      bob.client.background();
      server.post("alice", conversationId, "while away");

      bob.client.foreground();
      await clock.advance(10);

      expect(bob.client.connectionState).toEqual({ kind: "connected", via: "stream" });
      expect((await storedMessages(bob.storage, conversationId)).map((m) => m.text)).toEqual(["before", "while away"]);
      const syncs = server.calls.filter((call) => call.method === "Sync").map((call) => (call.request as { cursor: string }).cursor);
      expect(syncs.at(-1)).not.toBe("");
      await bob.client.close();
    });

    it("stays offline when the network is still unavailable", async () => {
      const { clock, server } = setup();
      const bob = makeClient(server, "bob");
      await bob.client.start();
      await clock.advance(10);
      bob.client.background();
      bob.client.setNetworkAvailable(false);
      expect(bob.client.connectionState).toEqual({ kind: "suspended" });
      bob.client.foreground();
      expect(bob.client.connectionState).toEqual({ kind: "offline" });
      await bob.client.close();
    });
  });

  describe("on a push wake-up", () => {
    it("syncs, flushes the outbox and returns to suspended", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      alice.client.background();
      await alice.client.send(conversationId, "queued in the background");
      server.post("bob", conversationId, "the push");

      await alice.client.wake({ deadlineMs: 5_000 });

      expect(server.messages(conversationId).map((m) => m.text)).toEqual(["the push", "queued in the background"]);
      expect((await storedMessages(alice.storage, conversationId)).map((m) => m.text)).toContain("the push");
      expect(await storedOutbox(alice.storage)).toEqual([]);
      expect(alice.client.connectionState).toEqual({ kind: "suspended" });
      await settle();
      expect(clock.pendingTimers).toBe(0);
      await alice.client.close();
    });

    it("returns by the deadline when the server does not answer", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      alice.client.background();
      await alice.client.send(conversationId, "stuck");
      const release = server.pause("SendMessage");

      let finished = false;
      const waking = alice.client.wake({ deadlineMs: 3_000 }).then(() => (finished = true));
      await clock.advance(2_900);
      expect(finished).toBe(false);
      await clock.advance(200);
      await waking;
      expect(finished).toBe(true);
      expect(alice.client.connectionState).toEqual({ kind: "suspended" });
      expect(await storedOutbox(alice.storage)).toHaveLength(1);
      release();
      await alice.client.close();
    });

    it("rejects a deadline that is not positive", async () => {
      const { server } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await expect(alice.client.wake({ deadlineMs: 0 })).rejects.toMatchObject({ code: Code.InvalidArgument });
      await alice.client.close();
    });
  });

  describe("close()", () => {
    it("stops everything and rejects later calls", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);

      await alice.client.close();

      expect(alice.client.connectionState).toEqual({ kind: "closed", reason: "closed" });
      expect(clock.pendingTimers).toBe(0);
      await expect(alice.client.send(conversationId, "too late")).rejects.toMatchObject({ code: Code.FailedPrecondition });
      await expect(alice.client.start()).rejects.toThrow(/after close/);
    });
  });
});

describe("start()", () => {
  it("rejects storage that belongs to another user", async () => {
    const { server } = setup();
    const alice = makeClient(server, "alice", { online: false });
    await alice.client.start();
    await alice.client.close();
    const mallory = makeClient(server, "mallory", { storage: alice.storage, online: false });
    await expect(mallory.client.start()).rejects.toMatchObject({
      code: Code.FailedPrecondition,
      message: 'storage belongs to user "alice", not "mallory"; give each user their own storage',
    });
  });

  it("creates the device id once and keeps it", async () => {
    const { clock, server } = setup();
    const first = makeClient(server, "alice");
    await first.client.start();
    await clock.advance(10);
    await first.client.close();
    const second = makeClient(server, "alice", { storage: first.storage });
    await second.client.start();
    await clock.advance(10);
    await second.client.close();
    const deviceIds = new Set(
      server.calls.filter((call) => call.method === "Sync").map((call) => (call.request as { deviceId: string }).deviceId),
    );
    expect(deviceIds.size).toBe(1);
    expect([...deviceIds][0]).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("makes methods that need storage reject before it", async () => {
    const { server, conversationId } = setup();
    const alice = makeClient(server, "alice");
    await expect(alice.client.send(conversationId, "early")).rejects.toThrow("send() needs a started client; await start() first");
  });
});
