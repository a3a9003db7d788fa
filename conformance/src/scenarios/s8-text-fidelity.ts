/**
 * Every text of the fixture transcript (emoji ZWJ sequences, flags, skin
 * tones, combining marks in NFD, right-to-left scripts, tabs, newlines,
 * quotes, markup) and a text of exactly max_message_bytes round-trip byte
 * for byte. One byte more is rejected by the server with invalid_argument
 * (or resource_exhausted) naming the limit, and by the client's send()
 * before it queues anything.
 */
import assert from "node:assert/strict";

import { assertSameBytes } from "./checks.js";
import { loadTranscript, textOfBytes } from "./fixtures.js";
import { expectRejected, uuidv7 } from "./protocol.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 20_000;
const OVER_LIMIT_CODES = new Set(["invalid_argument", "resource_exhausted"]);

export const textFidelity: Scenario = {
  id: "S8",
  title: "fixture texts and a text at the size limit round-trip byte for byte",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  timeoutMs: 60_000,

  async run(context) {
    const limit = context.limits.maxMessageBytes;
    const atLimit = textOfBytes(limit);
    const overLimit = textOfBytes(limit + 1);
    assert.equal(Buffer.byteLength(atLimit, "utf8"), limit);
    const texts = [...(await loadTranscript()).map((line) => line.text), atLimit];

    const alice = await context.runtime.createClient(context.clientOptions("alice"));
    const bob = await context.runtime.createClient(context.clientOptions("bob"));
    try {
      const conversationId = await alice.createDirect("bob");
      await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);

      context.step(`alice sends ${texts.length} texts, the last one ${limit} bytes`);
      for (const text of texts) await alice.send(conversationId, text);
      await alice.waitFor({ kind: "outbox-drained" }, WAIT_MS);
      const received = (await bob.waitFor({ kind: "stored", conversationId, count: texts.length }, WAIT_MS)).stored[
        conversationId
      ]!;
      assert.equal(received.length, texts.length, "bob must store every text once");
      received.forEach((message, i) => assertSameBytes(message.text, texts[i]!, `text ${i + 1} as bob stored it`));

      const server = await context.user("bob").history(conversationId);
      server.forEach((message, i) => assertSameBytes(message.text, texts[i]!, `text ${i + 1} in GetHistory`));

      context.step(`the server rejects ${limit + 1} bytes and names the limit`);
      const rejected = await expectRejected("SendMessage one byte over the limit", () =>
        context.user("alice").chat.sendMessage({ conversationId, clientMessageId: uuidv7(), text: overLimit, deviceId: "probe" }),
      );
      assert.ok(
        OVER_LIMIT_CODES.has(rejected.codeName),
        `one byte over got ${rejected.codeName}; expected invalid_argument or resource_exhausted`,
      );
      assert.ok(
        mentionsNumber(rejected.message, limit),
        `the error message must name the limit ${limit}: "${rejected.message}"`,
      );
      if (rejected.detail) {
        assert.equal(rejected.detail.field, "text", "ErrorDetail.field must name the text field");
        assert.equal(Number(rejected.detail.limit), limit, "ErrorDetail.limit must be the byte limit");
        assert.equal(Number(rejected.detail.actual), limit + 1, "ErrorDetail.actual must be the text's byte count");
      }

      context.step("alice's client rejects it before queuing");
      const before = (await alice.snapshot()).outbox.length;
      let localError: unknown;
      await alice.send(conversationId, overLimit).catch((error: unknown) => (localError = error));
      assert.ok(localError instanceof Error, "send() of a text over the known limit must reject");
      assert.ok(
        mentionsNumber(localError.message, limit),
        `send()'s error must name the limit ${limit}: "${localError.message}"`,
      );
      assert.equal((await alice.snapshot()).outbox.length, before, "a rejected text must not enter the outbox");
    } finally {
      await alice.close();
      await bob.close();
    }
  },
};

/** True when `text` contains `value` written plainly or with thousands separators. */
function mentionsNumber(text: string, value: number): boolean {
  return text.includes(String(value)) || text.includes(value.toLocaleString("en-US"));
}
