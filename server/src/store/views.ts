/**
 * Builds the chatwire.v1 messages a store returns from plain row values, so
 * that every store implementation renders conversations, messages and events
 * the same way.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  ConversationSchema,
  EventSchema,
  MemberSchema,
  MessageSchema,
  type Conversation,
  type Event,
  type ConversationKind,
  type Message,
} from "@chatwire/gen";

export interface MessageRow {
  conversation_id: string;
  seq: number;
  message_id: string;
  sender_id: string;
  sender_device_id: string;
  client_message_id: string;
  text: string;
  created_at: number;
}

export interface ConversationRow {
  conversation_id: string;
  kind: number;
  title: string;
  last_seq: number;
  created_at: number;
  activity_at: number;
}

export interface MemberRow {
  user_id: string;
  delivered_seq: number;
  read_seq: number;
  joined_after_seq: number;
  unread_count: number;
}

export function messageFromRow(row: MessageRow): Message {
  return create(MessageSchema, {
    conversationId: row.conversation_id,
    seq: BigInt(row.seq),
    messageId: row.message_id,
    senderId: row.sender_id,
    senderDeviceId: row.sender_device_id,
    clientMessageId: row.client_message_id,
    text: row.text,
    createdAt: timestampFromMs(row.created_at),
  });
}

/**
 * The conversation as one user sees it. `members` must be ordered by user_id.
 * `viewer` is the user's member row, or their last row when they were removed.
 * The last message is shown only when the viewer may read it.
 */
export function conversationView(
  conversation: ConversationRow,
  members: MemberRow[],
  viewer: MemberRow | undefined,
  lastMessage: MessageRow | undefined,
): Conversation {
  const visibleLast =
    lastMessage !== undefined && viewer !== undefined && lastMessage.seq > viewer.joined_after_seq
      ? messageFromRow(lastMessage)
      : undefined;
  return create(ConversationSchema, {
    conversationId: conversation.conversation_id,
    kind: conversation.kind as ConversationKind,
    title: conversation.title,
    members: members.map((member) =>
      create(MemberSchema, {
        userId: member.user_id,
        deliveredSeq: BigInt(member.delivered_seq),
        readSeq: BigInt(member.read_seq),
        joinedAfterSeq: BigInt(member.joined_after_seq),
      }),
    ),
    lastSeq: BigInt(conversation.last_seq),
    createdAt: timestampFromMs(conversation.created_at),
    unreadCount: BigInt(viewer?.unread_count ?? 0),
    lastMessage: visibleLast,
  });
}

/** Builds a MessageEvent without its position; every member's log entry shares it. */
export function messageEvent(message: Message): Event {
  return create(EventSchema, { kind: { case: "message", value: { message } } });
}

/** Encodes a MessageEvent without its position, for storage in a log row. */
export function encodeMessageEvent(message: Message): Uint8Array {
  return toBinary(EventSchema, messageEvent(message));
}

export function encodeReceiptEvent(
  conversationId: string,
  userId: string,
  deliveredSeq: number,
  readSeq: number,
): Uint8Array {
  return toBinary(
    EventSchema,
    create(EventSchema, {
      kind: {
        case: "receipt",
        value: { conversationId, userId, deliveredSeq: BigInt(deliveredSeq), readSeq: BigInt(readSeq) },
      },
    }),
  );
}

export function encodeConversationEvent(conversation: Conversation, removed: boolean): Uint8Array {
  return toBinary(
    EventSchema,
    create(EventSchema, { kind: { case: "conversation", value: { conversation, removed } } }),
  );
}
