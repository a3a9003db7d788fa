/**
 * Request bodies no client library sends, posted raw: malformed protobuf
 * binary and JSON, JSON of the wrong types, invalid UTF-8 and unknown
 * fields. Each gets an error code (or, for unknown fields, is accepted) and
 * leaves the server serving and its data unchanged.
 *
 * docs/protocol.md lists `internal` for a body that is not valid protobuf
 * binary: servers built on @connectrpc/connect 2.1.1 return it before any
 * handler runs. So a binary body may get invalid_argument or internal; any
 * other code fails.
 *
 * TODO: a body larger than the server reads (resource_exhausted) is not
 * sent, because ServerLimits does not advertise that size.
 */
import assert from "node:assert/strict";

import { toBinary, create } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import { SendMessageRequestSchema } from "@chatwire/gen";

import { uuidv7 } from "../../scenarios/protocol.js";
import { assertRejection, reasonName } from "../assertions.js";
import type { RawOutcome } from "../raw.js";
import { WIRE_PROTOCOLS, type CaseContext, type ServerCase, type SuiteUser } from "../types.js";
import { readHistory } from "./helpers.js";

const SEND = "ChatService/SendMessage";
/** The codes a body that is not valid protobuf binary may get; see the file comment. */
const BINARY_PARSE_CODES = ["invalid_argument", "internal"];
/** Byte sequences that are not UTF-8: a stray continuation byte, a cut sequence, an encoded surrogate, an overlong '/'. */
const INVALID_UTF8: readonly number[][] = [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf]];

interface Setup {
  sender: SuiteUser;
  conversationId: string;
  token: string;
}

/** Creates a conversation with one message, so that a case can check that nothing else was stored. */
async function setUp(context: CaseContext): Promise<Setup> {
  const sender = context.user("alice");
  const conversationId = await sender.createDirect(context.user("bob").userId);
  await sender.send(conversationId, "before the raw requests");
  return { sender, conversationId, token: await sender.token() };
}

/** Checks that the server still commits a message and that only `expectedTexts` are stored. */
async function assertUnharmed(setup: Setup, expectedTexts: readonly string[]): Promise<void> {
  await setup.sender.send(setup.conversationId, "after the raw requests");
  const texts = (await readHistory(setup.sender, setup.conversationId)).map((message) => message.text);
  assert.deepEqual(texts, ["before the raw requests", ...expectedTexts, "after the raw requests"], "the conversation holds only the accepted messages");
}

function assertBinaryRejected(label: string, outcome: RawOutcome): void {
  assert.ok(
    BINARY_PARSE_CODES.includes(outcome.code),
    `${label}: expected invalid_argument (or internal, as docs/protocol.md allows); got ${outcome.code} (${reasonName(outcome.detail?.reason)}): ${outcome.message}`,
  );
}

function jsonSend(setup: Setup, text: string): string {
  return JSON.stringify({ conversationId: setup.conversationId, clientMessageId: uuidv7(), text, deviceId: setup.sender.deviceId });
}

/** Encodes a SendMessageRequest whose text field contains `textBytes` unchanged. */
function binarySend(setup: Setup, textBytes: Uint8Array): Uint8Array {
  const writer = new BinaryWriter();
  writer.tag(1, WireType.LengthDelimited).string(setup.conversationId);
  writer.tag(2, WireType.LengthDelimited).string(uuidv7());
  writer.tag(3, WireType.LengthDelimited).bytes(textBytes);
  writer.tag(4, WireType.LengthDelimited).string(setup.sender.deviceId);
  return writer.finish();
}

const malformedProtobuf: ServerCase = {
  id: "server.input.malformed-protobuf",
  title: "a body that is not valid protobuf binary is rejected, and the server keeps serving",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const setup = await setUp(context);
    const valid = toBinary(
      SendMessageRequestSchema,
      create(SendMessageRequestSchema, { conversationId: setup.conversationId, clientMessageId: uuidv7(), text: "cut short", deviceId: "d" }),
    );
    const bodies: Array<[string, Uint8Array]> = [
      ["a length prefix past the end", new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])],
      ["a message cut in the middle of a string", valid.subarray(0, valid.byteLength - 4)],
      ["a varint that never ends", new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
      ["field number 0", new Uint8Array([0x00, 0x01])],
    ];
    for (const [label, body] of bodies) {
      assertBinaryRejected(label, await context.raw({ method: SEND, codec: "proto", body, token: setup.token }));
    }
    await assertUnharmed(setup, []);
  },
};

const malformedJson: ServerCase = {
  id: "server.input.malformed-json",
  title: "a JSON body that does not parse, or has fields of the wrong type, is invalid_argument",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: ["connect"],
  async run(context) {
    const setup = await setUp(context);
    const id = setup.conversationId;
    const bodies: Array<[string, string, string]> = [
      ["JSON that does not parse", SEND, "{not json"],
      ["JSON cut short", SEND, `{"conversationId":"${id}","text":`],
      ["a JSON array for a message", SEND, "[1,2]"],
      ["a number for a string field", SEND, `{"conversationId":"${id}","clientMessageId":"${uuidv7()}","text":5,"deviceId":"d"}`],
      ["a list for a string field", SEND, `{"conversationId":["${id}"],"clientMessageId":"${uuidv7()}","text":"t","deviceId":"d"}`],
      ["a word for an integer field", "ChatService/Sync", `{"deviceId":"d","limit":"many"}`],
      ["a negative uint64", "ChatService/GetHistory", `{"conversationId":"${id}","beforeSeq":"-1"}`],
      ["a fraction for an integer field", "ChatService/Sync", `{"deviceId":"d","waitMs":1.5}`],
      ["an unknown enum name", "ConversationService/CreateConversation", `{"kind":"CONVERSATION_KIND_TRIANGLE","memberIds":["x"]}`],
    ];
    for (const [label, method, body] of bodies) {
      const outcome = await context.raw({ method, codec: "json", body, token: setup.token });
      assertRejection(label, outcome, { code: Code.InvalidArgument });
    }
    await assertUnharmed(setup, []);
  },
};

const invalidUtf8Json: ServerCase = {
  id: "server.input.invalid-utf8-json",
  title: "JSON text with bytes that are not UTF-8, or an unpaired surrogate escape, is invalid_argument and stores nothing",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: ["connect"],
  async run(context) {
    const setup = await setUp(context);
    for (const bytes of INVALID_UTF8) {
      const [prefix, suffix] = jsonSend(setup, "a\u0000b").split("\\u0000");
      const body = Buffer.concat([Buffer.from(prefix ?? ""), Buffer.from(bytes), Buffer.from(suffix ?? "")]);
      const outcome = await context.raw({ method: SEND, codec: "json", body, token: setup.token });
      assertRejection(`JSON text with bytes ${Buffer.from(bytes).toString("hex")}`, outcome, { code: Code.InvalidArgument });
    }
    const surrogate = jsonSend(setup, "a\u0000b").replace("\\u0000", "\\ud800");
    const outcome = await context.raw({ method: SEND, codec: "json", body: surrogate, token: setup.token });
    assertRejection("JSON text with an unpaired surrogate escape", outcome, { code: Code.InvalidArgument });
    await assertUnharmed(setup, []);
  },
};

const invalidUtf8Protobuf: ServerCase = {
  id: "server.input.invalid-utf8-protobuf",
  title: "a protobuf string field that is not UTF-8 is rejected and stores nothing",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const setup = await setUp(context);
    for (const bytes of INVALID_UTF8) {
      const body = binarySend(setup, new Uint8Array([0x61, ...bytes, 0x62]));
      assertBinaryRejected(`protobuf text with bytes ${Buffer.from(bytes).toString("hex")}`, await context.raw({ method: SEND, codec: "proto", body, token: setup.token }));
    }
    await assertUnharmed(setup, []);
  },
};

const unknownFields: ServerCase = {
  id: "server.input.unknown-fields",
  title: "fields the server does not know are ignored, in protobuf binary and in JSON",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const setup = await setUp(context);
    const writer = new BinaryWriter();
    writer.raw(binarySend(setup, new TextEncoder().encode("with unknown binary fields")));
    writer.tag(99, WireType.Varint).uint32(7);
    writer.tag(100, WireType.LengthDelimited).string("a field from a newer client");
    const binary = await context.raw({ method: SEND, codec: "proto", body: writer.finish(), token: setup.token });
    assert.equal(binary.code, "ok", `a binary body with unknown fields is accepted; got ${binary.code}: ${binary.message}`);
    const stored = ["with unknown binary fields"];

    if (context.protocol === "connect") {
      const fields = JSON.parse(jsonSend(setup, "with an unknown JSON field")) as Record<string, unknown>;
      const body = JSON.stringify({ ...fields, fieldFromANewerClient: { nested: [1, 2] } });
      const json = await context.raw({ method: SEND, codec: "json", body, token: setup.token });
      assert.equal(json.code, "ok", `a JSON body with an unknown field is accepted; got ${json.code}: ${json.message}`);
      stored.push("with an unknown JSON field");
    }
    await assertUnharmed(setup, stored);
  },
};

export const bodyCases: readonly ServerCase[] = [malformedProtobuf, malformedJson, invalidUtf8Json, invalidUtf8Protobuf, unknownFields];
