/**
 * Malformed request fields: each gets the code, the ErrorDetail reason and
 * the field that docs/protocol.md and the proto comments give, and nothing
 * is stored.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import { Code } from "@connectrpc/connect";
import { ConversationKind, ErrorReason } from "@chatwire/gen";

import { textOfBytes } from "../../scenarios/fixtures.js";
import { uuidv7 } from "../../scenarios/protocol.js";
import { expectRejected, type ExpectedError } from "../assertions.js";
import { WIRE_PROTOCOLS, type ServerCase } from "../types.js";
import { readHistory } from "./helpers.js";

/** Maximum title of a group in UTF-8 bytes (CreateConversationRequest.title). */
const MAX_TITLE_BYTES = 256;

function invalid(field: string): ExpectedError {
  return { code: Code.InvalidArgument, reason: ErrorReason.FIELD_INVALID, field };
}

const invalidFields: ServerCase = {
  id: "server.input.invalid-fields",
  title: "malformed ids, kinds, titles and marks get invalid_argument naming the field, and store nothing",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const direct = await alice.createDirect(bob.userId);
    await alice.send(direct, "the only message");
    const send = (overrides: { clientMessageId?: string; deviceId?: string }) =>
      alice.chat.sendMessage({
        conversationId: direct,
        clientMessageId: overrides.clientMessageId ?? uuidv7(),
        text: "should not be stored",
        deviceId: overrides.deviceId ?? alice.deviceId,
      });
    const create = (request: { kind?: ConversationKind; memberIds?: string[]; title?: string; requestId?: string }) =>
      alice.conversations.createConversation({ memberIds: [bob.userId], ...request });

    const cases: Array<[string, () => Promise<unknown>, ExpectedError]> = [
      ["a client_message_id that is not a UUID", () => send({ clientMessageId: "message-1" }), invalid("client_message_id")],
      ["a version 4 UUID as client_message_id", () => send({ clientMessageId: randomUUID() }), invalid("client_message_id")],
      ["an uppercase UUIDv7 as client_message_id", () => send({ clientMessageId: uuidv7().toUpperCase() }), invalid("client_message_id")],
      ["an empty device_id", () => send({ deviceId: "" }), invalid("device_id")],
      ["a device_id with a space", () => send({ deviceId: "my phone" }), invalid("device_id")],
      ["a device_id of 65 characters", () => send({ deviceId: "d".repeat(65) }), invalid("device_id")],
      ["Sync with an empty device_id", () => alice.chat.sync({ deviceId: "" }), invalid("device_id")],
      ["an unset conversation kind", () => create({}), invalid("kind")],
      ["a title on a direct conversation", () => create({ kind: ConversationKind.DIRECT, title: "not allowed" }), invalid("title")],
      ["a member id with a space", () => create({ kind: ConversationKind.GROUP, memberIds: [bob.userId, "bad id"] }), invalid("member_ids[1]")],
      ["a request_id with a slash", () => create({ kind: ConversationKind.GROUP, requestId: "a/b" }), invalid("request_id")],
      [
        "a title one byte over 256",
        () => create({ kind: ConversationKind.GROUP, title: textOfBytes(MAX_TITLE_BYTES + 1) }),
        { code: Code.InvalidArgument, reason: ErrorReason.FIELD_TOO_LARGE, field: "title", limit: MAX_TITLE_BYTES, actual: MAX_TITLE_BYTES + 1 },
      ],
      [
        "a read mark above the last seq",
        () => alice.chat.acknowledge({ deviceId: alice.deviceId, marks: [{ conversationId: direct, readSeq: 5n }] }),
        { code: Code.InvalidArgument, reason: ErrorReason.FIELD_TOO_LARGE, field: "marks[0].read_seq" },
      ],
      [
        "AddMembers on a direct conversation",
        () => alice.conversations.addMembers({ conversationId: direct, userIds: [`${alice.userId}.x`] }),
        { code: Code.FailedPrecondition, reason: ErrorReason.CONVERSATION_KIND },
      ],
      [
        "RemoveMembers on a direct conversation",
        () => alice.conversations.removeMembers({ conversationId: direct, userIds: [bob.userId] }),
        { code: Code.FailedPrecondition, reason: ErrorReason.CONVERSATION_KIND },
      ],
    ];
    for (const [label, call, expected] of cases) await expectRejected(label, call, expected);

    const created = (await create({ kind: ConversationKind.GROUP, title: textOfBytes(MAX_TITLE_BYTES) })).conversation;
    assert.equal(Buffer.byteLength(created?.title ?? ""), MAX_TITLE_BYTES, "a title of exactly 256 bytes is accepted");

    assert.deepEqual((await readHistory(alice, direct)).map((message) => message.text), ["the only message"], "rejected sends store nothing");
    const members = (await alice.conversations.getConversation({ conversationId: direct })).conversation?.members ?? [];
    assert.equal(members.length, 2, "the direct conversation keeps its two members");
    const listed = (await alice.conversations.listConversations({})).conversations;
    assert.equal(listed.length, 2, "only the direct conversation and the valid group were created");
  },
};

export const fieldCases: readonly ServerCase[] = [invalidFields];
