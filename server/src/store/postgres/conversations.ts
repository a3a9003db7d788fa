/**
 * Conversations and their members in the PostgreSQL store.
 *
 * A membership change locks the conversation row first (`lockConversation`)
 * and reads the members after that lock. So membership changes and sends to
 * one conversation run one at a time, and each reads the members that the
 * previous one committed.
 */
import { ConversationKind, type Conversation } from "@chatwire/gen";
import { uuidV7 } from "../../ids.js";
import { conversationKind, conversationNotFound, fieldInvalid, tooManyMembers } from "../../rpc/errors.js";
import type { ChangeMembersInput, ConversationPageKey, CreateConversationInput } from "../types.js";
import {
  conversationView,
  encodeConversationEvent,
  type ConversationRow,
  type MemberRow,
  type MessageRow,
} from "../views.js";
import { query, type Queryable } from "./event-log.js";
import {
  conversationAndMembers,
  encodeText,
  isStorableId,
  messageRow,
  type ConversationMemberRow,
  type StoredMessageRow,
} from "./rows.js";
import type { Statement, Statements } from "./statements.js";
import type { Transaction } from "./transaction.js";

/** Reads a conversation with its members, or throws not_found unless `viewerId` is a member. */
export async function loadForMember(db: Queryable, statements: Statements, viewerId: string, conversationId: string) {
  if (!isStorableId(conversationId)) throw conversationNotFound();
  const rows = await query<ConversationMemberRow>(db, statements.conversationWithMembers, [conversationId]);
  if (rows.length === 0) throw conversationNotFound();
  const { conversation, members } = conversationAndMembers(rows);
  const viewer = members.find((member) => member.user_id === viewerId);
  if (viewer === undefined) throw conversationNotFound();
  return { conversation, members, viewer };
}

async function lastMessage(
  db: Queryable,
  statements: Statements,
  conversation: ConversationRow,
): Promise<MessageRow | undefined> {
  if (conversation.last_seq === 0) return undefined;
  const rows = await query<StoredMessageRow>(db, statements.messageBySeq, [
    conversation.conversation_id,
    conversation.last_seq,
  ]);
  return rows[0] === undefined ? undefined : messageRow(rows[0]);
}

export async function viewFor(
  db: Queryable,
  statements: Statements,
  viewerId: string,
  conversationId: string,
): Promise<Conversation> {
  const { conversation, members, viewer } = await loadForMember(db, statements, viewerId, conversationId);
  return conversationView(conversation, members, viewer, await lastMessage(db, statements, conversation));
}

/**
 * Queues the conversation's current state for every member's log, and a
 * removed = true event for each removed user, each rendered for its reader.
 */
async function announce(transaction: Transaction, conversationId: string, removed: MemberRow[]): Promise<void> {
  const { client, statements } = transaction;
  const rows = await query<ConversationMemberRow>(client, statements.conversationWithMembers, [conversationId]);
  const { conversation, members } = conversationAndMembers(rows);
  const last = await lastMessage(client, statements, conversation);
  for (const member of members) {
    const payload = encodeConversationEvent(conversationView(conversation, members, member, last), false);
    transaction.appendEvent(member.user_id, payload);
  }
  for (const formerMember of removed) {
    const payload = encodeConversationEvent(conversationView(conversation, members, formerMember, last), true);
    transaction.appendEvent(formerMember.user_id, payload);
  }
}

/**
 * Claims the idempotency key of a new conversation (the member pair of a
 * direct one, or the creator's request id of a group) for `conversationId`.
 * Returns the id of the conversation that has the key already, if any. A
 * concurrent claim of the same key waits for the other transaction and then
 * returns its conversation.
 */
async function claimKey(
  transaction: Transaction,
  input: CreateConversationInput,
  memberIds: string[],
  conversationId: string,
): Promise<string | undefined> {
  const { client, statements } = transaction;
  let claim: { statement: Statement; lookup: Statement; key: [string, string] };
  if (input.kind === ConversationKind.DIRECT) {
    if (memberIds.length !== 2) {
      throw fieldInvalid(
        "member_ids",
        `a direct conversation needs exactly one other user in member_ids; got ${memberIds.length - 1}`,
      );
    }
    const [low, high] = [...memberIds].sort() as [string, string];
    claim = { statement: statements.claimDirect, lookup: statements.directConversation, key: [low, high] };
  } else if (input.requestId !== "") {
    claim = { statement: statements.claimGroupRequest, lookup: statements.groupRequest, key: [input.creatorId, input.requestId] };
  } else {
    return undefined;
  }
  const claimed = await query(client, claim.statement, [...claim.key, conversationId]);
  if (claimed.length > 0) return undefined;
  const holder = await query<{ conversation_id: string }>(client, claim.lookup, claim.key);
  return holder[0]?.conversation_id;
}

export async function createConversation(
  transaction: Transaction,
  input: CreateConversationInput,
): Promise<{ conversation: Conversation; existing: boolean }> {
  const { client, statements } = transaction;
  const memberIds = [...new Set([input.creatorId, ...input.memberIds])];
  const now = Date.now();
  const conversationId = uuidV7(now);
  const existingId = await claimKey(transaction, input, memberIds, conversationId);
  if (existingId !== undefined) {
    return { conversation: await viewFor(client, statements, input.creatorId, existingId), existing: true };
  }
  if (memberIds.length > input.maxMembers) {
    throw tooManyMembers("member_ids", memberIds.length, input.maxMembers);
  }

  await query(client, statements.insertConversation, [
    conversationId,
    input.kind,
    encodeText(input.title),
    now,
    input.creatorId,
  ]);
  await query(client, statements.insertMembers, [conversationId, memberIds, 0]);
  await query(client, statements.insertUserConversations, [conversationId, memberIds, now]);
  await announce(transaction, conversationId, []);
  return { conversation: await viewFor(client, statements, input.creatorId, conversationId), existing: false };
}

function requireGroup(conversation: ConversationRow, change: string): void {
  if (conversation.kind !== ConversationKind.GROUP) {
    throw conversationKind(`a direct conversation always has its two members; ${change} works on groups only`);
  }
}

/** Locks the conversation row for a membership change, then reads it with its members. */
async function lockForChange(transaction: Transaction, callerId: string, conversationId: string) {
  const { client, statements } = transaction;
  if (!isStorableId(conversationId)) throw conversationNotFound();
  const locked = await query(client, statements.lockConversation, [conversationId]);
  if (locked.length === 0) throw conversationNotFound();
  return loadForMember(client, statements, callerId, conversationId);
}

export async function addMembers(
  transaction: Transaction,
  input: ChangeMembersInput & { maxMembers: number },
): Promise<Conversation> {
  const { client, statements } = transaction;
  const { conversation, members } = await lockForChange(transaction, input.callerId, input.conversationId);
  requireGroup(conversation, "adding members");
  const present = new Set(members.map((member) => member.user_id));
  const added = [...new Set(input.userIds)].filter((userId) => !present.has(userId));
  if (added.length === 0) return viewFor(client, statements, input.callerId, input.conversationId);

  const total = members.length + added.length;
  if (total > input.maxMembers) throw tooManyMembers("user_ids", total, input.maxMembers);
  const now = Date.now();
  await query(client, statements.insertMembers, [input.conversationId, added, conversation.last_seq]);
  await query(client, statements.insertUserConversations, [input.conversationId, added, now]);
  await query(client, statements.touchConversation, [input.conversationId, now]);
  await query(client, statements.touchUserConversations, [input.conversationId, [...present], now]);
  await announce(transaction, input.conversationId, []);
  return viewFor(client, statements, input.callerId, input.conversationId);
}

// NOTE: chatwire.v1 defines no member roles, so any member may remove any
// other member of a group, not only itself.
export async function removeMembers(
  transaction: Transaction,
  input: ChangeMembersInput,
): Promise<Conversation | undefined> {
  const { client, statements } = transaction;
  const { conversation, members } = await lockForChange(transaction, input.callerId, input.conversationId);
  requireGroup(conversation, "removing members");
  const requested = new Set(input.userIds);
  const removed = members.filter((member) => requested.has(member.user_id));
  if (removed.length === 0) return viewFor(client, statements, input.callerId, input.conversationId);

  const now = Date.now();
  const removedIds = removed.map((member) => member.user_id);
  const remainingIds = members.filter((member) => !requested.has(member.user_id)).map((member) => member.user_id);
  await query(client, statements.deleteMembers, [input.conversationId, removedIds]);
  await query(client, statements.deleteUserConversations, [input.conversationId, removedIds]);
  await query(client, statements.touchConversation, [input.conversationId, now]);
  await query(client, statements.touchUserConversations, [input.conversationId, remainingIds, now]);
  await announce(transaction, input.conversationId, removed);
  return requested.has(input.callerId) ? undefined : viewFor(client, statements, input.callerId, input.conversationId);
}

/**
 * Pages the viewer's conversations by latest activity. The page comes from
 * the viewer's own rows in user_conversations; the conversations, members
 * and last messages of that page are then read by conversation id.
 */
export async function listConversations(
  db: Queryable,
  statements: Statements,
  viewerId: string,
  page: { limit: number; after?: ConversationPageKey | undefined },
): Promise<{ conversations: Conversation[]; next?: ConversationPageKey }> {
  const rows = await query<{ conversation_id: string; activity_at: number }>(
    db,
    page.after === undefined ? statements.conversationsFirstPage : statements.conversationsAfter,
    page.after === undefined
      ? [viewerId, page.limit + 1]
      : [viewerId, page.after.activityAt, page.after.conversationId, page.limit + 1],
  );
  const pageRows = rows.slice(0, page.limit);
  if (pageRows.length === 0) return { conversations: [] };

  const joined = await query<ConversationMemberRow>(db, statements.conversationsWithMembers, [
    pageRows.map((row) => row.conversation_id),
  ]);
  const byId = new Map<string, ConversationMemberRow[]>();
  for (const row of joined) {
    const group = byId.get(row.conversation_id);
    if (group === undefined) byId.set(row.conversation_id, [row]);
    else group.push(row);
  }
  const loaded = pageRows.flatMap((row) => {
    const group = byId.get(row.conversation_id);
    return group === undefined ? [] : [conversationAndMembers(group)];
  });
  const withMessages = loaded.filter(({ conversation }) => conversation.last_seq > 0);
  const lastRows = await query<StoredMessageRow>(db, statements.messagesBySeq, [
    withMessages.map(({ conversation }) => conversation.conversation_id),
    withMessages.map(({ conversation }) => conversation.last_seq),
  ]);
  const lastById = new Map(lastRows.map((row) => [row.conversation_id, messageRow(row)]));

  const conversations = loaded.map(({ conversation, members }) => {
    const viewer = members.find((member) => member.user_id === viewerId);
    return conversationView(conversation, members, viewer, lastById.get(conversation.conversation_id));
  });
  const last = pageRows[pageRows.length - 1];
  if (rows.length > page.limit && last !== undefined) {
    return { conversations, next: { activityAt: last.activity_at, conversationId: last.conversation_id } };
  }
  return { conversations };
}
