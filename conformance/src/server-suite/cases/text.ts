/**
 * Text fidelity: message text is stored and returned byte for byte, with no
 * Unicode normalization, trimming or line-ending changes, in the
 * SendMessage response, GetHistory and Sync.
 */
import assert from "node:assert/strict";

import { assertSameBytes } from "../../scenarios/checks.js";
import { loadTranscript } from "../../scenarios/fixtures.js";
import { WIRE_PROTOCOLS, type ServerCase } from "../types.js";
import { messagesIn, readHistory } from "./helpers.js";

const textFidelity: ServerCase = {
  id: "server.text.fidelity",
  title: "texts with NFD combining marks, emoji sequences, right-to-left scripts, tabs and markup round-trip byte for byte",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const maximum = context.limits.maxMessageBytes;
    const texts = (await loadTranscript()).map((line) => line.text).filter((text) => Buffer.byteLength(text, "utf8") <= maximum);
    assert.ok(texts.length > 0, `no fixture text fits max_message_bytes ${maximum}`);
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);

    for (const [index, text] of texts.entries()) {
      const response = await alice.send(conversationId, text);
      assertSameBytes(response.message?.text ?? "", text, `SendMessage response for text ${index + 1}`);
    }
    const history = await readHistory(bob, conversationId);
    assert.equal(history.length, texts.length, "GetHistory returns every text once");
    for (const [index, text] of texts.entries()) assertSameBytes(history[index]?.text ?? "", text, `GetHistory text ${index + 1}`);

    const logged = messagesIn((await bob.syncAll()).events, conversationId);
    assert.equal(logged.length, texts.length, "Sync returns every text once");
    for (const [index, text] of texts.entries()) assertSameBytes(logged[index]?.text ?? "", text, `Sync text ${index + 1}`);
  },
};

export const textCases: readonly ServerCase[] = [textFidelity];
