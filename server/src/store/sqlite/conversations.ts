/** Conversations and their members in the SQLite store. */
import { ConversationKind, type Conversation } from "@chatwire/gen";
import { uuidV7 } from "../../ids.js";
import { conversationKind, conversationNotFound, tooManyMembers } from "../../rpc/errors.js";
import type { ChangeMembersInput, ConversationPageKey, CreateConversationInput } from "../types.js";
import {
  conversationView,
  encodeConversationEvent,
  type ConversationRow,
  type MemberRow,
  type MessageRow,
} from "../views.js";
import { appendEvent } from "./event-log.js";
import type { Statements } from "./statements.js";
import type { WriteContext } from "./write-queue.js";

/** Reads a conversation with its members, or throws not_found unless `viewerId` is a member. */
export function loadForMember(statements: Statements, viewerId: string, conversationId: string) {
  const conversation = statements.conversationById.get(conversationId) as ConversationRow | undefined;
  if (conversation === undefined) throw conversationNotFound();
  const members = statements.membersOf.all(conversationId) as MemberRow[];
  const viewer = members.find((member) => member.user_id === viewerId);
  if (viewer === undefined) throw conversationNotFound();
  return { conversation, members, viewer };
}

function lastMessage(statements: Statements, conversation: ConversationRow): MessageRow | undefined {
  if (conversation.last_seq === 0) return undefined;
  return statements.messageBySeq.get(conversation.conversation_id, conversation.last_seq) as
    | MessageRow
    | undefined;
}

export function viewFor(statements: Statements, viewerId: string, conversationId: string): Conversation {
  const { conversation, members, viewer } = loadForMember(statements, viewerId, conversationId);
  return conversationView(conversation, members, viewer, lastMessage(statements, conversation));
}

/**
 * Appends the conversation's current state to every member's log, and a
 * removed = true event to each removed user, each rendered for its reader.
 */
function announce(
  statements: Statements,
  context: WriteContext,
  conversationId: string,
  removed: MemberRow[],
  now: number,
): void {
  const conversation = statements.conversationById.get(conversationId) as ConversationRow;
  const members = statements.membersOf.all(conversationId) as MemberRow[];
  const last = lastMessage(statements, conversation);
  for (const member of members) {
    const payload = encodeConversationEvent(conversationView(conversation, members, member, last), false);
    appendEvent(statements, context, member.user_id, payload, now);
  }
  for (const formerMember of removed) {
    const payload = encodeConversationEvent(conversationView(conversation, members, formerMember, last), true);
    appendEvent(statements, context, formerMember.user_id, payload, now);
  }
}

export function createConversation(
  statements: Statements,
  context: WriteContext,
  input: CreateConversationInput,
): { conversation: Conversation; existing: boolean } {
  const memberIds = [...new Set([input.creatorId, ...input.memberIds])];
  let directKey: string | null = null;
  let existingId: string | undefined;
  if (input.kind === ConversationKind.DIRECT) {
    directKey = [...memberIds].sort().join(" ");
    existingId = statements.conversationIdByDirectKey.get(directKey) as string | undefined;
  } else if (input.requestId !== "") {
    existingId = statements.conversationIdByRequest.get(input.creatorId, input.requestId) as string | undefined;
  }
  if (existingId !== undefined) {
    return { conversation: viewFor(statements, input.creatorId, existingId), existing: true };
  }
  if (memberIds.length > input.maxMembers) {
    throw tooManyMembers("member_ids", memberIds.length, input.maxMembers);
  }

  const now = Date.now();
  const conversationId = uuidV7(now);
  statements.insertConversation.run(
    conversationId,
    input.kind,
    input.title,
    now,
    now,
    directKey,
    input.creatorId,
    input.requestId === "" ? null : input.requestId,
  );
  for (const userId of memberIds) statements.insertMember.run(conversationId, userId, 0);
  announce(statements, context, conversationId, [], now);
  return { conversation: viewFor(statements, input.creatorId, conversationId), existing: false };
}

function requireGroup(conversation: ConversationRow, change: string): void {
  if (conversation.kind !== ConversationKind.GROUP) {
    throw conversationKind(`a direct conversation always has its two members; ${change} works on groups only`);
  }
}

export function addMembers(
  statements: Statements,
  context: WriteContext,
  input: ChangeMembersInput & { maxMembers: number },
): Conversation {
  const { conversation, members } = loadForMember(statements, input.callerId, input.conversationId);
  requireGroup(conversation, "adding members");
  const present = new Set(members.map((member) => member.user_id));
  const added = [...new Set(input.userIds)].filter((userId) => !present.has(userId));
  if (added.length === 0) return viewFor(statements, input.callerId, input.conversationId);

  const total = members.length + added.length;
  if (total > input.maxMembers) throw tooManyMembers("user_ids", total, input.maxMembers);
  const now = Date.now();
  for (const userId of added) {
    statements.insertMember.run(input.conversationId, userId, conversation.last_seq);
  }
  statements.touchConversation.run(now, input.conversationId);
  announce(statements, context, input.conversationId, [], now);
  return viewFor(statements, input.callerId, input.conversationId);
}

// NOTE: chatwire.v1 defines no member roles, so any member may remove any
// other member of a group, not only itself.
export function removeMembers(
  statements: Statements,
  context: WriteContext,
  input: ChangeMembersInput,
): Conversation | undefined {
  const { conversation, members } = loadForMember(statements, input.callerId, input.conversationId);
  requireGroup(conversation, "removing members");
  const requested = new Set(input.userIds);
  const removed = members.filter((member) => requested.has(member.user_id));
  if (removed.length === 0) return viewFor(statements, input.callerId, input.conversationId);

  const now = Date.now();
  for (const member of removed) statements.deleteMember.run(input.conversationId, member.user_id);
  statements.touchConversation.run(now, input.conversationId);
  announce(statements, context, input.conversationId, removed, now);
  return requested.has(input.callerId) ? undefined : viewFor(statements, input.callerId, input.conversationId);
}

export function listConversations(
  statements: Statements,
  viewerId: string,
  page: { limit: number; after?: ConversationPageKey | undefined },
): { conversations: Conversation[]; next?: ConversationPageKey } {
  const rows = (
    page.after === undefined
      ? statements.conversationsFirstPage.all(viewerId, page.limit + 1)
      : statements.conversationsAfter.all(
          viewerId,
          page.after.activityAt,
          page.after.activityAt,
          page.after.conversationId,
          page.limit + 1,
        )
  ) as ConversationRow[];
  const pageRows = rows.slice(0, page.limit);
  const conversations = pageRows.map((row) => {
    const members = statements.membersOf.all(row.conversation_id) as MemberRow[];
    const viewer = members.find((member) => member.user_id === viewerId);
    return conversationView(row, members, viewer, lastMessage(statements, row));
  });
  const last = pageRows[pageRows.length - 1];
  if (rows.length > page.limit && last !== undefined) {
    return { conversations, next: { activityAt: last.activity_at, conversationId: last.conversation_id } };
  }
  return { conversations };
}
