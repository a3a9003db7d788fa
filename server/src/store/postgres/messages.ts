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
 */
import { toBinary } from "@bufbuild/protobuf";
import { EventSchema, type Message } from "@chatwire/gen";
import { uuidV7 } from "../../ids.js";
import { conversationNotFound, idempotencyKeyReused } from "../../rpc/errors.js";
import type { SendMessageInput } from "../types.js";
import { messageEvent, messageFromRow, type MemberRow, type MessageRow } from "../views.js";
import { query, type Queryable } from "./event-log.js";
import { encodeText, isStorableId, messageRow, type StoredMessageRow } from "./rows.js";
import type { Statements } from "./statements.js";
import type { Transaction } from "./transaction.js";

/** Returns the message stored under a taken key, or throws already_exists when the retry differs from it. */
async function replay(transaction: Transaction, input: SendMessageInput): Promise<{ message: Message; replayed: true }> {
  const { client, statements } = transaction;
  const keys = await query<{ conversation_id: string; seq: number }>(client, statements.messageKey, [
    input.senderId,
    input.clientMessageId,
  ]);
  const key = keys[0];
  if (key === undefined || key.conversation_id !== input.conversationId) {
    throw idempotencyKeyReused(input.clientMessageId);
  }
  const rows = await query<StoredMessageRow>(client, statements.messageBySeq, [key.conversation_id, key.seq]);
  const stored = rows[0] === undefined ? undefined : messageRow(rows[0]);
  if (stored === undefined || stored.text !== input.text) throw idempotencyKeyReused(input.clientMessageId);
  return { message: messageFromRow(stored), replayed: true };
}

export async function sendMessage(
  transaction: Transaction,
  input: SendMessageInput,
): Promise<{ message: Message; replayed: boolean }> {
  const { client, statements } = transaction;
  // The key is checked before membership: a retry after the sender left the
  // conversation still returns the message it committed.
  const claimed = await query(client, statements.claimMessageKey, [
    input.senderId,
    input.clientMessageId,
    isStorableId(input.conversationId) ? input.conversationId : "",
  ]);
  if (claimed.length === 0) return replay(transaction, input);
  if (!isStorableId(input.conversationId)) throw conversationNotFound();

  const now = Date.now();
  const seqRows = await query<{ last_seq: number }>(client, statements.nextSeq, [input.conversationId, now]);
  const seq = seqRows[0]?.last_seq;
  if (seq === undefined) throw conversationNotFound();
  // Read after the row lock, so the members are those the last membership change committed.
  const memberIds = (await query<{ user_id: string }>(client, statements.memberIds, [input.conversationId])).map(
    (row) => row.user_id,
  );
  if (!memberIds.includes(input.senderId)) throw conversationNotFound();

  const row: MessageRow = {
    conversation_id: input.conversationId,
    seq,
    message_id: uuidV7(now),
    sender_id: input.senderId,
    sender_device_id: input.senderDeviceId,
    client_message_id: input.clientMessageId,
    text: input.text,
    created_at: now,
  };
  await query(client, statements.insertMessage, [
    row.conversation_id,
    row.seq,
    row.message_id,
    row.sender_id,
    row.sender_device_id,
    row.client_message_id,
    encodeText(row.text),
    row.created_at,
  ]);
  await query(client, statements.setMessageKeySeq, [input.senderId, input.clientMessageId, seq]);
  await query(client, statements.countUnreadForOthers, [input.conversationId, input.senderId]);
  await query(client, statements.touchUserConversations, [input.conversationId, memberIds, now]);

  const message = messageFromRow(row);
  const payload = toBinary(EventSchema, messageEvent(message));
  for (const userId of memberIds) transaction.appendEvent(userId, payload);
  return { message, replayed: false };
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
