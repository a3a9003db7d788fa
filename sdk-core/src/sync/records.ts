import { timestampMs } from "@bufbuild/protobuf/wkt";
import { ConversationKind } from "@chatwire/gen";
import type { Conversation, Member, Message } from "@chatwire/gen";
import type { ConversationRecord, MemberRecord, MessageRecord } from "../storage/types.js";

/**
 * Converts a protocol uint64 (seq, position, mark), which protoc-gen-es v2
 * generates as bigint, to the number the storage records use. Values above
 * 2^53 would lose precision, and no seq or position gets near that.
 */
export function toNumber(value: bigint): number {
  return Number(value);
}

/** Converts a protocol message into the stored form. */
export function toMessageRecord(message: Message): MessageRecord {
  return {
    conversationId: message.conversationId,
    seq: toNumber(message.seq),
    messageId: message.messageId,
    senderId: message.senderId,
    senderDeviceId: message.senderDeviceId,
    clientMessageId: message.clientMessageId,
    text: message.text,
    createdAt: message.createdAt === undefined ? 0 : timestampMs(message.createdAt),
  };
}

function toMemberRecord(member: Member): MemberRecord {
  return {
    userId: member.userId,
    deliveredSeq: toNumber(member.deliveredSeq),
    readSeq: toNumber(member.readSeq),
    joinedAfterSeq: toNumber(member.joinedAfterSeq),
  };
}

/** Returns a record for a conversation known only by its id, until the server's state arrives. */
export function placeholderConversation(conversationId: string): ConversationRecord {
  return {
    conversationId,
    kind: "group",
    title: "",
    members: [],
    lastSeq: 0,
    unreadCount: 0,
    removed: false,
    updatedAt: 0,
  };
}

/**
 * Merges the server's view of a conversation into the local record.
 *
 * Receipt marks and lastSeq keep the maximum of both sides, because events
 * can arrive after a newer snapshot. Title, kind, membership and the unread
 * count come from the server.
 */
export function mergeConversation(
  local: ConversationRecord | undefined,
  remote: Conversation,
  removed: boolean,
): ConversationRecord {
  const localMembers = new Map((local?.members ?? []).map((member) => [member.userId, member]));
  const members = remote.members
    .map((member) => {
      const merged = toMemberRecord(member);
      const known = localMembers.get(member.userId);
      if (known !== undefined) {
        merged.deliveredSeq = Math.max(merged.deliveredSeq, known.deliveredSeq);
        merged.readSeq = Math.max(merged.readSeq, known.readSeq);
      }
      merged.deliveredSeq = Math.max(merged.deliveredSeq, merged.readSeq);
      return merged;
    })
    .sort(compareMembers);

  const activity = Math.max(
    remote.createdAt === undefined ? 0 : timestampMs(remote.createdAt),
    remote.lastMessage?.createdAt === undefined ? 0 : timestampMs(remote.lastMessage.createdAt),
  );
  return {
    conversationId: remote.conversationId,
    kind: remote.kind === ConversationKind.DIRECT ? "direct" : "group",
    title: remote.title,
    members,
    lastSeq: Math.max(toNumber(remote.lastSeq), local?.lastSeq ?? 0),
    unreadCount: toNumber(remote.unreadCount),
    removed,
    updatedAt: Math.max(activity, local?.updatedAt ?? 0),
  };
}

/** Returns the member record of `userId`, or undefined when the user is not a member. */
export function findMember(record: ConversationRecord, userId: string): MemberRecord | undefined {
  return record.members.find((member) => member.userId === userId);
}

/** Orders members by user id, as the protocol lists them. */
export function compareMembers(a: { userId: string }, b: { userId: string }): number {
  if (a.userId === b.userId) return 0;
  return a.userId < b.userId ? -1 : 1;
}
