/**
 * The limits GetServerInfo advertises: each one is accepted at its exact value,
 * and one more is rejected with the code and ErrorDetail docs/protocol.md
 * gives, naming the limit.
 */
import assert from "node:assert/strict";

import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";

import { textOfBytes } from "../../scenarios/fixtures.js";
import { expectRejected } from "../assertions.js";
import { WIRE_PROTOCOLS, type ServerCase } from "../types.js";
import { readHistory } from "./helpers.js";

/** Texts above this many bytes are not sent; the case is skipped instead. */
const MAX_TEXT_BYTES_TESTED = 8 * 1024 * 1024;
/** Groups above this many members are not created; the case is skipped instead. */
const MAX_MEMBERS_TESTED = 2_000;
const UINT32_MAX = 2 ** 32 - 1;

const serverInfo: ServerCase = {
  id: "server.info.limits",
  title: "GetServerInfo reports every limit and a server version",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const user = context.user("reader");
    const info = await user.chat.getServerInfo({});
    const limits = info.limits;
    assert.ok(limits !== undefined, "GetServerInfo returns limits");
    assert.notEqual(info.serverVersion, "", "GetServerInfo names the server version");
    assert.ok(limits.maxMessageBytes >= 1, `max_message_bytes is ${limits.maxMessageBytes}; expected at least 1`);
    assert.ok(limits.maxMembersPerConversation >= 2, `max_members_per_conversation is ${limits.maxMembersPerConversation}; a direct conversation needs 2`);
    assert.ok(limits.maxPageSize >= 1, `max_page_size is ${limits.maxPageSize}; expected at least 1`);
    assert.ok(limits.heartbeatIntervalMs >= 1, `heartbeat_interval_ms is ${limits.heartbeatIntervalMs}; expected at least 1`);
    assert.ok(limits.maxStreamsPerUser >= 1, `max_streams_per_user is ${limits.maxStreamsPerUser}; expected at least 1`);
    assert.ok(limits.eventRetentionSeconds >= 1n, `event_retention_seconds is ${limits.eventRetentionSeconds}; expected at least 1`);
  },
};

const textSize: ServerCase = {
  id: "server.limits.text-bytes",
  title: "text of exactly max_message_bytes UTF-8 bytes round-trips; one byte more is FIELD_TOO_LARGE",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const maximum = context.limits.maxMessageBytes;
    if (maximum > MAX_TEXT_BYTES_TESTED) context.skip(`max_message_bytes is ${maximum}; this case sends at most ${MAX_TEXT_BYTES_TESTED} bytes`);
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);

    const exact = textOfBytes(maximum);
    await alice.send(conversationId, exact);
    const stored = (await readHistory(bob, conversationId))[0]?.text ?? "";
    assert.ok(Buffer.from(stored).equals(Buffer.from(exact)), "text of exactly the limit is stored byte for byte");

    const expected = { code: Code.InvalidArgument, reason: ErrorReason.FIELD_TOO_LARGE, field: "text", limit: maximum };
    await expectRejected("text one byte over the limit", alice.send(conversationId, textOfBytes(maximum + 1)), {
      ...expected,
      actual: maximum + 1,
    });
    // Four-byte characters: fewer UTF-16 code units than the limit, more bytes.
    const emoji = "\u{1F600}".repeat(Math.floor(maximum / 4) + 1);
    await expectRejected("text counted in UTF-8 bytes, not characters", alice.send(conversationId, emoji), {
      ...expected,
      actual: Buffer.byteLength(emoji),
    });
    await expectRejected("empty text", alice.send(conversationId, ""), {
      code: Code.InvalidArgument,
      reason: ErrorReason.FIELD_INVALID,
      field: "text",
    });
    assert.equal((await readHistory(bob, conversationId)).length, 1, "rejected texts store nothing");
  },
};

const members: ServerCase = {
  id: "server.limits.members",
  title: "a group of exactly max_members_per_conversation is created; one more member is TOO_MANY_MEMBERS",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const maximum = context.limits.maxMembersPerConversation;
    if (maximum > MAX_MEMBERS_TESTED) context.skip(`max_members_per_conversation is ${maximum}; this case creates at most ${MAX_MEMBERS_TESTED}`);
    const alice = context.user("alice");
    // Members need no token or earlier call, so their ids are only unique names.
    const others = Array.from({ length: maximum }, (_, index) => `${alice.userId}.m${index}`);

    const full = await alice.createGroup(others.slice(0, maximum - 1), "full");
    const conversation = (await alice.conversations.getConversation({ conversationId: full })).conversation;
    assert.equal(conversation?.members.length, maximum, "a group of exactly the limit has every member");

    const expected = { code: Code.ResourceExhausted, reason: ErrorReason.TOO_MANY_MEMBERS, limit: maximum, actual: maximum + 1 };
    await expectRejected("CreateConversation with one member over the limit", alice.createGroup(others, "too big"), expected);
    await expectRejected(
      "AddMembers to a full group",
      alice.conversations.addMembers({ conversationId: full, userIds: [others[maximum - 1] ?? ""] }),
      expected,
    );
    const after = (await alice.conversations.getConversation({ conversationId: full })).conversation;
    assert.equal(after?.members.length, maximum, "a rejected AddMembers adds nobody");
  },
};

const pageSize: ServerCase = {
  id: "server.limits.page-size",
  title: "page sizes up to max_page_size are accepted; one more is FIELD_TOO_LARGE in Sync, GetHistory and ListConversations",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const maximum = context.limits.maxPageSize;
    if (maximum >= UINT32_MAX) context.skip(`max_page_size is ${maximum}, the largest uint32; no page size exceeds it`);
    const alice = context.user("alice");
    const conversationId = await alice.createDirect(context.user("bob").userId);
    await alice.send(conversationId, "one message");

    await alice.chat.sync({ deviceId: alice.deviceId, limit: maximum });
    await alice.chat.getHistory({ conversationId, limit: maximum });
    await alice.conversations.listConversations({ pageSize: maximum });

    const over = { code: Code.InvalidArgument, reason: ErrorReason.FIELD_TOO_LARGE, limit: maximum, actual: maximum + 1 };
    await expectRejected("Sync limit over the maximum", alice.chat.sync({ deviceId: alice.deviceId, limit: maximum + 1 }), { ...over, field: "limit" });
    await expectRejected("GetHistory limit over the maximum", alice.chat.getHistory({ conversationId, limit: maximum + 1 }), { ...over, field: "limit" });
    await expectRejected("ListConversations page_size over the maximum", alice.conversations.listConversations({ pageSize: maximum + 1 }), {
      ...over,
      field: "page_size",
    });
  },
};

export const limitCases: readonly ServerCase[] = [serverInfo, textSize, members, pageSize];
