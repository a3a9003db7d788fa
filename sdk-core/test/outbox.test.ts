import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";
import { describe, expect, it } from "vitest";
import { createMemoryStorage } from "../src/storage/memory.js";
import { settle, waitFor } from "./support/fake-clock.js";
import { makeClient, setup, storedMessages, storedOutbox } from "./support/harness.js";

const texts = (messages: { text: string }[]) => messages.map((message) => message.text);

describe("Outbox", () => {
  describe("while offline", () => {
    it("commits the entry to storage before send() resolves", async () => {
      const { server, conversationId } = setup();
      const alice = makeClient(server, "alice", { online: false });
      await alice.client.start();

      const { clientMessageId } = await alice.client.send(conversationId, "first");

      const outbox = await storedOutbox(alice.storage);
      expect(outbox).toEqual([
        expect.objectContaining({ clientMessageId, conversationId, text: "first", state: "queued", attempts: 0 }),
      ]);
      expect(server.count("SendMessage")).toBe(0);
      expect(alice.client.connectionState).toEqual({ kind: "offline" });
    });

    it("sends the queue in order once the network is back", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice", { online: false });
      await alice.client.start();
      for (const text of ["one", "two", "three"]) await alice.client.send(conversationId, text);

      alice.client.setNetworkAvailable(true);
      await clock.advance(10);

      expect(texts(server.messages(conversationId))).toEqual(["one", "two", "three"]);
      expect(server.messages(conversationId).map((m) => Number(m.seq))).toEqual([1, 2, 3]);
      expect(await storedOutbox(alice.storage)).toEqual([]);
      await alice.client.close();
    });
  });

  describe("with several conversations", () => {
    it("keeps one send in flight per conversation and sends conversations concurrently", async () => {
      const { clock, server, conversationId } = setup();
      const other = server.createConversation(["alice", "carol"]).id;
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      const release = server.pause("SendMessage");

      for (const text of ["a1", "a2", "a3"]) await alice.client.send(conversationId, text);
      for (const text of ["c1", "c2"]) await alice.client.send(other, text);
      await settle();

      const inFlight = server.calls.filter((call) => call.method === "SendMessage");
      expect(inFlight.map((call) => (call.request as { text: string }).text).sort()).toEqual(["a1", "c1"]);

      release();
      await clock.advance(10);
      expect(texts(server.messages(conversationId))).toEqual(["a1", "a2", "a3"]);
      expect(texts(server.messages(other))).toEqual(["c1", "c2"]);
      await alice.client.close();
    });

    it("holds only the failing conversation's queue", async () => {
      const { clock, server, conversationId } = setup();
      const other = server.createConversation(["alice", "carol"]).id;
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      server.failNext("SendMessage", 3, Code.Unavailable, undefined, ((request: { conversationId: string }) =>
        request.conversationId === conversationId) as never);

      await alice.client.send(conversationId, "held");
      await alice.client.send(other, "free");
      await settle();

      expect(texts(server.messages(other))).toEqual(["free"]);
      expect(texts(server.messages(conversationId))).toEqual([]);
      await clock.advance(60_000);
      expect(texts(server.messages(conversationId))).toEqual(["held"]);
      await alice.client.close();
    });
  });

  describe("after a transient failure", () => {
    it("retries with backoff and the same client_message_id", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      server.failNext("SendMessage", 2, Code.Unavailable);

      const { clientMessageId } = await alice.client.send(conversationId, "eventually");
      await settle();
      const pending = await storedOutbox(alice.storage);
      expect(pending).toEqual([expect.objectContaining({ clientMessageId, state: "queued" })]);

      await clock.advance(5_000);
      const sends = server.calls.filter((call) => call.method === "SendMessage");
      expect(sends).toHaveLength(3);
      for (const call of sends) expect((call.request as { clientMessageId: string }).clientMessageId).toBe(clientMessageId);
      expect(server.messages(conversationId).map((m) => m.clientMessageId)).toEqual([clientMessageId]);
      await alice.client.close();
    });

    it("does not send later messages of the conversation before the held one", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      server.failNext("SendMessage", 1, Code.DeadlineExceeded);

      await alice.client.send(conversationId, "first");
      await alice.client.send(conversationId, "second");
      await settle();
      expect(texts(server.messages(conversationId))).toEqual([]);

      await clock.advance(1_000);
      expect(texts(server.messages(conversationId))).toEqual(["first", "second"]);
      await alice.client.close();
    });

    it("waits retry_after_ms when rate limited", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      server.failNext("SendMessage", 1, Code.ResourceExhausted, { reason: ErrorReason.RATE_LIMITED, retryAfterMs: 4_000 });

      await alice.client.send(conversationId, "slow down");
      await clock.advance(3_900);
      expect(server.messages(conversationId)).toHaveLength(0);
      await clock.advance(200);
      expect(server.messages(conversationId)).toHaveLength(1);
      await alice.client.close();
    });
  });

  describe("after a permanent rejection", () => {
    it("parks the entry as failed with the reason and sends the rest", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      server.failNext("SendMessage", 1, Code.InvalidArgument, { reason: ErrorReason.FIELD_INVALID });

      const rejected = await alice.client.send(conversationId, "rejected");
      await alice.client.send(conversationId, "accepted");
      await clock.advance(10);

      expect(texts(server.messages(conversationId))).toEqual(["accepted"]);
      const outbox = await storedOutbox(alice.storage);
      expect(outbox).toEqual([
        expect.objectContaining({
          clientMessageId: rejected.clientMessageId,
          state: "failed",
          failure: expect.objectContaining({ code: "invalid_argument", reason: "ERROR_REASON_FIELD_INVALID" }),
        }),
      ]);
      expect(alice.events).toContainEqual(
        expect.objectContaining({ type: "outbox-failed", entry: expect.objectContaining({ clientMessageId: rejected.clientMessageId }) }),
      );
      await alice.client.close();
    });

    it("sends a retried entry with its original client_message_id", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      server.failNext("SendMessage", 1, Code.PermissionDenied);
      const { clientMessageId } = await alice.client.send(conversationId, "try again");
      await clock.advance(10);
      expect((await storedOutbox(alice.storage))[0]?.state).toBe("failed");

      await alice.client.retry(clientMessageId);
      await clock.advance(10);

      expect(server.messages(conversationId).map((m) => m.clientMessageId)).toEqual([clientMessageId]);
      expect(await storedOutbox(alice.storage)).toEqual([]);
      await alice.client.close();
    });

    it("removes a discarded entry", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      server.failNext("SendMessage", 1, Code.NotFound, { reason: ErrorReason.CONVERSATION_NOT_FOUND });
      const { clientMessageId } = await alice.client.send(conversationId, "nowhere");
      await clock.advance(10);

      await alice.client.discard(clientMessageId);

      expect(await storedOutbox(alice.storage)).toEqual([]);
      await expect(alice.client.discard(clientMessageId)).rejects.toMatchObject({ code: Code.NotFound });
      await expect(alice.client.retry(clientMessageId)).rejects.toThrow(/not found/);
      await alice.client.close();
    });
  });

  describe("after a crash between send() and the server's ack", () => {
    it("resends the same client_message_id and shows the message once", async () => {
      const { clock, server, conversationId } = setup();
      const storage = createMemoryStorage();
      const first = makeClient(server, "alice", { storage, online: false });
      await first.client.start();
      const { clientMessageId } = await first.client.send(conversationId, "survives");
      await first.client.close();

      const second = makeClient(server, "alice", { storage });
      await second.client.start();
      await clock.advance(10);

      expect(server.messages(conversationId).map((m) => m.clientMessageId)).toEqual([clientMessageId]);
      expect(texts(await storedMessages(storage, conversationId))).toEqual(["survives"]);
      expect(await storedOutbox(storage)).toEqual([]);
      await second.client.close();
    });
  });

  describe("when the response is lost after the server committed", () => {
    it("retries, gets the original message back and stores it once", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      const bob = makeClient(server, "bob");
      await alice.client.start();
      await bob.client.start();
      await clock.advance(10);
      server.commitThenFail("SendMessage");

      await alice.client.send(conversationId, "once");
      await clock.advance(5_000);

      expect(server.messages(conversationId)).toHaveLength(1);
      expect(texts(await storedMessages(alice.storage, conversationId))).toEqual(["once"]);
      expect(texts(await storedMessages(bob.storage, conversationId))).toEqual(["once"]);
      expect(await storedOutbox(alice.storage)).toEqual([]);
      expect(alice.events.filter((event) => event.type === "message")).toHaveLength(1);
      await alice.client.close();
      await bob.client.close();
    });
  });

  describe("when the echo arrives through sync before the response", () => {
    it("removes the entry with the echo and ignores the late response", async () => {
      const { clock, server, conversationId } = setup();
      const alice = makeClient(server, "alice");
      await alice.client.start();
      await clock.advance(10);
      // Hold the response back while the commit is delivered on the stream.
      const release = server.pause("SendMessage");
      await alice.client.send(conversationId, "echoed");
      await settle();
      const pending = server.calls.find((call) => call.method === "SendMessage")!.request as { clientMessageId: string };
      server.post("alice", conversationId, "echoed", pending.clientMessageId);
      await waitFor(async () => (await storedOutbox(alice.storage)).length === 0, "echo applied");

      release();
      await clock.advance(10);

      expect(texts(await storedMessages(alice.storage, conversationId))).toEqual(["echoed"]);
      expect(alice.events.filter((event) => event.type === "message")).toHaveLength(1);
      await alice.client.close();
    });
  });
});
