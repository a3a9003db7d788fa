import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { utf8ByteLength } from "../src/text.js";
import { makeClient, setup, storedOutbox } from "./support/harness.js";

async function connectedAlice(maxMessageBytes = 16) {
  const { clock, server, conversationId } = setup({ maxMessageBytes });
  const alice = makeClient(server, "alice");
  await alice.client.start();
  await clock.advance(10);
  return { clock, server, conversationId, alice };
}

describe("send()", () => {
  it("rejects empty text", async () => {
    const { alice, conversationId } = await connectedAlice();
    await expect(alice.client.send(conversationId, "")).rejects.toMatchObject({
      code: Code.InvalidArgument,
      message: "text is empty; a message needs at least 1 byte of UTF-8 text",
    });
    expect(await storedOutbox(alice.storage)).toEqual([]);
    await alice.client.close();
  });

  it("accepts text of exactly the server's limit", async () => {
    const { alice, conversationId, clock, server } = await connectedAlice(16);
    const text = "🙂".repeat(4); // 4 bytes each
    await alice.client.send(conversationId, text);
    await clock.advance(10);
    expect(server.messages(conversationId)[0]?.text).toBe(text);
    await alice.client.close();
  });

  it("rejects text one byte over the limit, naming both sizes", async () => {
    const { alice, conversationId } = await connectedAlice(4_096);
    await expect(alice.client.send(conversationId, "x".repeat(4_097))).rejects.toMatchObject({
      code: Code.InvalidArgument,
      message: "text is 4,097 bytes of UTF-8; the server's limit is 4,096 bytes. Shorten it or split it into several messages",
    });
    await alice.client.close();
  });

  it("queues oversized text while the limit is unknown, and the server parks it", async () => {
    const { server, conversationId, clock } = setup({ maxMessageBytes: 8 });
    const alice = makeClient(server, "alice", { online: false });
    await alice.client.start();
    await alice.client.send(conversationId, "far too long for the limit");
    alice.client.setNetworkAvailable(true);
    await clock.advance(10);
    expect(await storedOutbox(alice.storage)).toEqual([
      expect.objectContaining({ state: "failed", failure: expect.objectContaining({ reason: "ERROR_REASON_FIELD_TOO_LARGE" }) }),
    ]);
    await alice.client.close();
  });

  it("rejects an unpaired surrogate", async () => {
    const { alice, conversationId } = await connectedAlice();
    await expect(alice.client.send(conversationId, "a\uD83D")).rejects.toThrow("unpaired UTF-16 surrogate at index 1");
    await alice.client.close();
  });

  it("rejects a conversation the user was removed from", async () => {
    const { alice, conversationId, clock } = await connectedAlice();
    await alice.client.removeMembers(conversationId, ["alice"]);
    await clock.advance(10);
    await expect(alice.client.send(conversationId, "hello?")).rejects.toMatchObject({ code: Code.FailedPrecondition });
    await alice.client.close();
  });

  it("keeps the text byte for byte", async () => {
    const { alice, conversationId, clock, server } = await connectedAlice(4_096);
    const text = "e\u0301 👨‍👩‍👧‍👦 مرحبا \t<b>x</b>";
    await alice.client.send(conversationId, text);
    await clock.advance(10);
    expect(server.messages(conversationId)[0]?.text).toBe(text);
    await alice.client.close();
  });
});

describe("utf8ByteLength", () => {
  it.each([
    ["", 0],
    ["a", 1],
    ["é", 2],
    ["€", 3],
    ["🙂", 4],
    ["e\u0301", 3],
  ])("counts %j as %i bytes", (text, bytes) => {
    expect(utf8ByteLength(text, "text")).toBe(bytes);
    expect(utf8ByteLength(text, "text")).toBe(Buffer.byteLength(text, "utf8"));
  });
});
