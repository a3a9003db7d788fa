/** Committing messages and reading history in the SQLite store. */
import { toBinary } from "@bufbuild/protobuf";
import { EventSchema, type Message } from "@chatwire/gen";
import { uuidV7 } from "../../ids.js";
import { conversationNotFound, idempotencyKeyReused } from "../../rpc/errors.js";
import type { SendMessageInput } from "../types.js";
import { messageEvent, messageFromRow, type MemberRow, type MessageRow } from "../views.js";
import { appendEvent } from "./event-log.js";
import type { Statements } from "./statements.js";
import type { WriteContext } from "./write-queue.js";

export function sendMessage(
  statements: Statements,
  context: WriteContext,
  input: SendMessageInput,
): { message: Message; replayed: boolean } {
  // The key is checked before membership: a retry after the sender left the
  // conversation still returns the message it committed.
  const stored = statements.messageByKey.get(input.senderId, input.clientMessageId) as MessageRow | undefined;
  if (stored !== undefined) {
    if (stored.conversation_id === input.conversationId && stored.text === input.text) {
      return { message: messageFromRow(stored), replayed: true };
    }
    throw idempotencyKeyReused(input.clientMessageId);
  }
  // One query serves the membership check and the fan-out below.
  const memberIds = statements.memberIdsOf.all(input.conversationId) as string[];
  if (!memberIds.includes(input.senderId)) throw conversationNotFound();

  const now = Date.now();
  const seq = statements.nextSeq.get(now, input.conversationId) as { last_seq: number };
  const row: MessageRow = {
    conversation_id: input.conversationId,
    seq: seq.last_seq,
    message_id: uuidV7(now),
    sender_id: input.senderId,
    sender_device_id: input.senderDeviceId,
    client_message_id: input.clientMessageId,
    text: input.text,
    created_at: now,
  };
  statements.insertMessage.run(
    row.conversation_id,
    row.seq,
    row.message_id,
    row.sender_id,
    row.sender_device_id,
    row.client_message_id,
    row.text,
    row.created_at,
  );
  statements.countUnreadForOthers.run(input.conversationId, input.senderId);

  const message = messageFromRow(row);
  const event = messageEvent(message);
  const payload = toBinary(EventSchema, event);
  for (const userId of memberIds) {
    appendEvent(statements, context, userId, payload, now, event);
  }
  return { message, replayed: false };
}

export function getHistory(
  statements: Statements,
  viewerId: string,
  conversationId: string,
  page: { beforeSeq: number; limit: number },
): { messages: Message[]; hasMore: boolean } {
  const viewer = statements.member.get(conversationId, viewerId) as MemberRow | undefined;
  if (viewer === undefined) throw conversationNotFound();
  const before = page.beforeSeq === 0 ? Number.MAX_SAFE_INTEGER : page.beforeSeq;
  const rows = statements.historyPage.all(
    conversationId,
    before,
    viewer.joined_after_seq,
    page.limit + 1,
  ) as MessageRow[];
  const hasMore = rows.length > page.limit;
  const messages = rows.slice(0, page.limit).reverse().map(messageFromRow);
  return { messages, hasMore };
}
