/**
 * Committing messages and reading history in the PostgreSQL store.
 *
 * A send claims its idempotency key first. A concurrent send with the same
 * key waits on the unique index until the first one commits or rolls back,
 * then finds the key taken and replays the stored message, so a key never
 * yields a second row. The seq comes from incrementing the conversation row.
 * That row lock also serializes sends to one conversation across nodes,
 * because the next sender waits for it until the previous transaction
 * committed. So seqs are gapless, and a rolled-back send gives its seq back.
 * All of these steps run in the `send_message` function, in one statement.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { MessageSchema, type Message } from "@chatwire/gen";
import { DatabaseError, type ClientBase } from "pg";
import { uuidV7 } from "../../ids.js";
import { conversationNotFound, idempotencyKeyReused } from "../../rpc/errors.js";
import type { CommittedHeads, SendMessageInput } from "../types.js";
import { messageFromRow, type MemberRow, type MessageRow } from "../views.js";
import { query, type Queryable } from "./event-log.js";
import { encodeText, isStorableId, messageRow, type StoredMessageRow } from "./rows.js";
import { CONVERSATION_NOT_FOUND_SQLSTATE } from "./send-function.js";
import type { Statements } from "./statements.js";

/** One row of `send_message`: a replay of a taken key, or the new message's seq and log heads. */
interface SendResultRow {
  replayed: boolean;
  conversation_id: string | null;
  seq: number | null;
  message_id: string | null;
  sender_device_id: string | null;
  text: Buffer | null;
  created_at: number | null;
  user_ids: string[] | null;
  heads: number[] | null;
}

/**
 * Commits a message with one call of the `send_message` function (see
 * send-function.ts), outside an explicit transaction, so the send is one
 * round trip. Returns the log head of each member for waking readers.
 */
export async function sendMessage(
  client: ClientBase,
  statements: Statements,
  input: SendMessageInput,
): Promise<{ result: { message: Message; replayed: boolean }; heads: CommittedHeads }> {
  const now = Date.now();
  const storable = isStorableId(input.conversationId);
  const message = messageFromRow({
    conversation_id: input.conversationId,
    seq: 0,
    message_id: uuidV7(now),
    sender_id: input.senderId,
    sender_device_id: input.senderDeviceId,
    client_message_id: input.clientMessageId,
    text: input.text,
    created_at: now,
  });
  // The Message fields before and after seq (field 2), which the function
  // joins around the seq it assigns.
  const headBytes = toBinary(MessageSchema, create(MessageSchema, { conversationId: message.conversationId }));
  const tailBytes = toBinary(MessageSchema, create(MessageSchema, { ...message, conversationId: "", seq: 0n }));
  let rows: SendResultRow[];
  try {
    rows = await query<SendResultRow>(client, statements.sendMessage, [
      input.senderId,
      input.senderDeviceId,
      // The key is checked before the conversation: a retry after the
      // sender left the conversation still returns the message it committed.
      // An id PostgreSQL cannot store claims the key under "" and then
      // fails as not found, which rolls the claim back.
      storable ? input.conversationId : "",
      input.clientMessageId,
      message.messageId,
      encodeText(input.text),
      now,
      Buffer.from(headBytes),
      Buffer.from(tailBytes),
    ]);
  } catch (error) {
    if (error instanceof DatabaseError && error.code === CONVERSATION_NOT_FOUND_SQLSTATE) throw conversationNotFound();
    throw error;
  }
  const row = rows[0];
  if (row === undefined) throw new Error("send_message returned no row; it returns exactly one unless it raises");

  if (row.replayed) {
    // The key's conversation and the stored text must match the retry.
    if (row.conversation_id !== input.conversationId || row.seq === null || row.text === null) {
      throw idempotencyKeyReused(input.clientMessageId);
    }
    const stored: MessageRow = {
      conversation_id: row.conversation_id,
      seq: row.seq,
      message_id: row.message_id ?? "",
      sender_id: input.senderId,
      sender_device_id: row.sender_device_id ?? "",
      client_message_id: input.clientMessageId,
      text: row.text.toString("utf8"),
      created_at: row.created_at ?? 0,
    };
    if (stored.text !== input.text) throw idempotencyKeyReused(input.clientMessageId);
    return { result: { message: messageFromRow(stored), replayed: true }, heads: new Map() };
  }

  message.seq = BigInt(row.seq ?? 0);
  const userIds = row.user_ids ?? [];
  const heads = row.heads ?? [];
  const committed = new Map<string, number>();
  userIds.forEach((userId, index) => committed.set(userId, heads[index] as number));
  return { result: { message, replayed: false }, heads: committed };
}

export async function getHistory(
  db: Queryable,
  statements: Statements,
  viewerId: string,
  conversationId: string,
  page: { beforeSeq: number; limit: number },
): Promise<{ messages: Message[]; hasMore: boolean }> {
  if (!isStorableId(conversationId)) throw conversationNotFound();
  const viewer = (await query<MemberRow>(db, statements.member, [conversationId, viewerId]))[0];
  if (viewer === undefined) throw conversationNotFound();
  const before = page.beforeSeq === 0 ? Number.MAX_SAFE_INTEGER : page.beforeSeq;
  const rows = await query<StoredMessageRow>(db, statements.historyPage, [
    conversationId,
    before,
    viewer.joined_after_seq,
    page.limit + 1,
  ]);
  const hasMore = rows.length > page.limit;
  const messages = rows.slice(0, page.limit).reverse().map((stored) => messageFromRow(messageRow(stored)));
  return { messages, hasMore };
}
