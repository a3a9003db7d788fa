import type { ConversationRecord, MessageRecord, OutboxEntry, OutboxFailure } from "../storage/types.js";

/**
 * Delivery status of a message, as a chat UI shows it.
 *
 * - pending: accepted by `send()`, not yet committed by the server (queued or in flight).
 * - sent: committed by the server, with a seq. Every message from another user is "sent".
 * - delivered: one of the user's messages that a device of another member received.
 * - read: one of the user's messages that another member read.
 * - failed: rejected by the server for good; see `failure`, then `retry()` or `discard()`.
 */
export type MessageStatus = "pending" | "sent" | "delivered" | "read" | "failed";

/** One row of a conversation view. */
export interface MessageItem {
  /** Stable key for list rendering: the clientMessageId, the same before and after the server confirms. */
  readonly key: string;
  readonly clientMessageId: string;
  readonly conversationId: string;
  /** Position in the conversation; undefined until the server confirms the message. */
  readonly seq: number | undefined;
  /** Server id; undefined until the server confirms the message. */
  readonly messageId: string | undefined;
  readonly senderId: string;
  /** True for the local user's messages. */
  readonly own: boolean;
  readonly text: string;
  /** Server commit time, or local send time while pending, in ms since the epoch; for display only. */
  readonly createdAt: number;
  readonly status: MessageStatus;
  /** The server's reason for rejecting the message; set when status is "failed". */
  readonly failure: OutboxFailure | undefined;
}

/** Returns the item of a confirmed message; an own message's status follows the other members' marks. */
export function confirmedItem(message: MessageRecord, conversation: ConversationRecord | undefined, userId: string): MessageItem {
  const own = message.senderId === userId;
  let status: MessageStatus = "sent";
  if (own && conversation !== undefined) {
    const others = conversation.members.filter((member) => member.userId !== userId);
    if (others.some((member) => member.readSeq >= message.seq)) status = "read";
    else if (others.some((member) => member.deliveredSeq >= message.seq)) status = "delivered";
  }
  return Object.freeze({
    key: message.clientMessageId,
    clientMessageId: message.clientMessageId,
    conversationId: message.conversationId,
    seq: message.seq,
    messageId: message.messageId,
    senderId: message.senderId,
    own,
    text: message.text,
    createdAt: message.createdAt,
    status,
    failure: undefined,
  });
}

/** Returns the item of an outbox entry: pending, or failed with its reason. */
export function pendingItem(entry: OutboxEntry, userId: string): MessageItem {
  return Object.freeze({
    key: entry.clientMessageId,
    clientMessageId: entry.clientMessageId,
    conversationId: entry.conversationId,
    seq: undefined,
    messageId: undefined,
    senderId: userId,
    own: true,
    text: entry.text,
    createdAt: entry.createdAt,
    status: entry.state === "failed" ? "failed" : "pending",
    failure: entry.failure === undefined ? undefined : Object.freeze({ ...entry.failure }),
  });
}
