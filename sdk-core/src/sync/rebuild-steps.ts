import type { Client } from "@connectrpc/connect";
import type { ChatService, ConversationService, SyncResponse } from "@chatwire/gen";
import { maxListPages } from "../conversations.js";
import { ChatError } from "../errors/chat-error.js";
import { classifyFailure } from "../errors/classify.js";
import type { ChatEvent } from "../events.js";
import type { Logger } from "../options.js";
import type { ChatStorage, ConversationRecord, MessageRecord, StorageTransaction } from "../storage/types.js";
import type { AppliedPage } from "./apply-events.js";
import { findMember, mergeConversation, placeholderConversation, toMessageRecord, toNumber } from "./records.js";
import { recountUnread } from "./unread.js";

/** Dependencies of the rebuild steps. Every call is bound to the AbortSignal of one run. */
export interface RebuildStepContext {
  storage: ChatStorage;
  chat: Client<typeof ChatService>;
  conversations: Client<typeof ConversationService>;
  logger: Logger;
  userId: string;
  /** Messages per GetHistory page. */
  historyPageSize: number;
  /** Calls Sync for the page after `cursor`. */
  sync(cursor: string): Promise<SyncResponse>;
  /** Calls Sync with from_end set and an empty cursor. */
  syncFromEnd(): Promise<SyncResponse>;
  /** Runs a unary call with the request deadline and the run's signal. */
  call<T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T>;
  onApplied(page: AppliedPage): void;
}

/** The cursor at the end of the event log when a rebuild began, and the position of the event it follows. */
export interface RebuildCursor {
  cursor: string;
  /**
   * Undefined when the server's log had no event for the user, or when the
   * cursor came from Sync(from_end), which names no position. The first
   * event after the cursor is then accepted at any position.
   */
  position: number | undefined;
}

/**
 * Returns the cursor at the end of the event log, applying nothing, from
 * Sync(from_end). A server without that field ignores it and returns the
 * first page from the empty cursor, with events or has_more set. Then this
 * pages on to the end of the log, so that call is not wasted.
 */
export async function takeEndCursor(context: RebuildStepContext): Promise<RebuildCursor> {
  const first = await context.syncFromEnd();
  if (first.events.length === 0 && !first.hasMore) {
    context.logger.debug({}, "rebuild: took the cursor at the end of the event log");
    return { cursor: first.nextCursor, position: undefined };
  }

  let response = first;
  let cursor = "";
  let position: number | undefined;
  let pages = 0;
  let events = 0;
  for (;;) {
    pages += 1;
    events += response.events.length;
    const last = response.events[response.events.length - 1];
    if (last !== undefined) position = toNumber(last.position);
    cursor = response.nextCursor;
    // A page without events cannot move the cursor, so asking again would loop.
    if (!response.hasMore || response.events.length === 0) break;
    response = await context.sync(cursor);
  }
  context.logger.info(
    { pages, events, position },
    "rebuild: the server ignored Sync from_end; read the event log to its end for the cursor",
  );
  return { cursor, position };
}

/**
 * Reads every page of ListConversations and stores each page in one
 * transaction, with the server's unread counts and last messages. A pending
 * read mark of the local user that is above the server's mark is applied
 * again, and a queued outbox entry that a last message confirms is removed
 * (see storeNewestHistory). Returns the listed conversation ids in list
 * order, each with the last seq that its stored unread count covers.
 */
export async function storeConversationList(context: RebuildStepContext): Promise<Map<string, number>> {
  const { storage, conversations, userId } = context;
  const listed = new Map<string, number>();
  let pageToken = "";
  for (let page = 0; page < maxListPages; page++) {
    const response = await context.call("ListConversations", (signal) =>
      conversations.listConversations({ pageToken }, { signal }),
    );
    const records = await storage.transaction("readwrite", async (tx) => {
      const readMarks = await pendingReadSeqs(tx);
      const stored: ConversationRecord[] = [];
      for (const remote of response.conversations) {
        // A record stored already is a send response's placeholder or an earlier page's copy.
        const record = mergeConversation(await tx.getConversation(remote.conversationId), remote, false);
        if (remote.lastMessage !== undefined) {
          const lastMessage = toMessageRecord(remote.lastMessage);
          await tx.putMessages([lastMessage]);
          if (lastMessage.senderId === userId) await removeCommittedEntry(tx, lastMessage);
        }
        if (raiseOwnReadMark(record, userId, readMarks.get(record.conversationId))) await recountUnread(tx, record, userId);
        await tx.putConversation(record);
        stored.push(record);
      }
      return stored;
    });
    for (const remote of response.conversations) listed.set(remote.conversationId, toNumber(remote.lastSeq));
    context.onApplied(
      rebuiltPage(
        records.map((record) => record.conversationId),
        records.map((record) => ({ type: "conversation", conversation: record, removed: false })),
      ),
    );
    pageToken = response.nextPageToken;
    if (pageToken === "") return listed;
  }
  context.logger.warn(
    { pages: maxListPages, conversations: listed.size },
    "rebuild: ListConversations returned more pages than the client reads; the rest come with their next events",
  );
  return listed;
}

/**
 * Fetches the newest GetHistory page of one conversation and stores it in
 * one transaction. `listedLastSeq` is the last seq the stored unread count
 * covers: another user's message above it that storage did not have is
 * counted as unread and announced as new, as sync would have done.
 *
 * A queued outbox entry whose message the page contains (same id, conversation
 * and text) is removed, as the message's echo from sync would remove it.
 * Failed entries and queued ones that differ stay.
 *
 * A conversation the server rejects for good (the user was removed since
 * the list) is skipped: its later events, the removal among them, arrive by sync.
 */
export async function storeNewestHistory(
  context: RebuildStepContext,
  conversationId: string,
  listedLastSeq: number,
): Promise<void> {
  const { storage, chat, userId, logger } = context;
  let messages: MessageRecord[];
  try {
    const response = await context.call("GetHistory", (signal) =>
      chat.getHistory({ conversationId, beforeSeq: 0n, limit: context.historyPageSize }, { signal }),
    );
    messages = response.messages.map(toMessageRecord);
  } catch (thrown) {
    const error = ChatError.from(thrown);
    if (classifyFailure(error, false).kind !== "park") throw error;
    logger.warn(
      { err: error, conversationId },
      "rebuild: GetHistory of a listed conversation was rejected; its later events still arrive by sync",
    );
    return;
  }
  if (messages.length === 0) return;

  const page = await storage.transaction("readwrite", async (tx) => {
    const record = (await tx.getConversation(conversationId)) ?? placeholderConversation(conversationId);
    const first = messages[0]!.seq;
    const last = messages[messages.length - 1]!.seq;
    const storedSeqs = new Set(
      (await tx.getMessages(conversationId, { afterSeq: first - 1, beforeSeq: last + 1, limit: last - first + 1 })).map(
        (message) => message.seq,
      ),
    );
    const self = findMember(record, userId);
    const readSeq = self?.readSeq ?? 0;
    const events: ChatEvent[] = [];
    let delivered = 0;
    for (const message of messages) {
      const own = message.senderId === userId;
      if (!storedSeqs.has(message.seq) && message.seq > listedLastSeq) {
        if (!own && message.seq > readSeq) record.unreadCount += 1;
        events.push({ type: "message", message, own });
      }
      if (own) await removeCommittedEntry(tx, message);
      else delivered = Math.max(delivered, message.seq);
      record.lastSeq = Math.max(record.lastSeq, message.seq);
      record.updatedAt = Math.max(record.updatedAt, message.createdAt);
    }
    await tx.putMessages(messages);
    if (self !== undefined) self.deliveredSeq = Math.max(self.deliveredSeq, delivered);
    // The list step raised the read mark before these messages were stored; now the count can be exact.
    if ((await pendingReadSeqs(tx)).has(conversationId)) await recountUnread(tx, record, userId);
    await tx.putConversation(record);
    return rebuiltPage([conversationId], events, delivered > 0 ? new Map([[conversationId, delivered]]) : new Map());
  });
  context.onApplied(page);
}

/**
 * Stores the cursor taken at the start and deletes the rebuild marker, in one
 * transaction. Sync then goes on from that cursor and applies again the
 * events that the list and history pages already show, without effect.
 */
export async function finishRebuild(context: RebuildStepContext, start: RebuildCursor): Promise<void> {
  await context.storage.transaction("readwrite", async (tx) => {
    if (start.cursor === "") await tx.deleteMeta("cursor");
    else await tx.setMeta("cursor", start.cursor);
    if (start.position === undefined) await tx.deleteMeta("position");
    else await tx.setMeta("position", String(start.position));
    await tx.deleteMeta("rebuild");
  });
  const page = rebuiltPage([], []);
  page.position = start.position;
  page.cursorAdvanced = start.cursor !== "";
  context.onApplied(page);
}

/** Returns the local user's pending read marks by conversation id. */
async function pendingReadSeqs(tx: StorageTransaction): Promise<Map<string, number>> {
  return new Map((await tx.listPendingReadMarks()).map((mark) => [mark.conversationId, mark.readSeq]));
}

/** Raises the local user's read mark in `record` to `readSeq`; returns whether it went up. */
function raiseOwnReadMark(record: ConversationRecord, userId: string, readSeq: number | undefined): boolean {
  const self = findMember(record, userId);
  if (self === undefined || readSeq === undefined || readSeq <= self.readSeq) return false;
  self.readSeq = readSeq;
  self.deliveredSeq = Math.max(self.deliveredSeq, readSeq);
  return true;
}

/** Deletes the queued outbox entry that `message` (an own message the server committed) confirms. */
async function removeCommittedEntry(tx: StorageTransaction, message: MessageRecord): Promise<void> {
  const entry = await tx.getOutbox(message.clientMessageId);
  if (entry === undefined || entry.state !== "queued") return;
  if (entry.conversationId !== message.conversationId || entry.text !== message.text) return;
  await tx.deleteOutbox(message.clientMessageId);
}

function rebuiltPage(
  changedConversations: readonly string[],
  events: ChatEvent[],
  delivered: Map<string, number> = new Map(),
): AppliedPage {
  return {
    gap: undefined,
    events,
    changedConversations: new Set(changedConversations),
    delivered,
    unknownConversations: new Set(),
    position: undefined,
    cursorAdvanced: false,
  };
}
