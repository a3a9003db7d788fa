/**
 * The storage contract of a chatwire server.
 *
 * Vocabulary:
 * - A conversation has members and a gapless message sequence: seq 1, 2, 3, ...
 *   `last_seq` is the seq of its newest message, 0 when it has none.
 * - Each user has an append-only event log. A change appends one event to the
 *   log of every user it concerns, at the next position of that log (1, 2, 3,
 *   ... with no gaps), in the same transaction as the change itself.
 * - `prunedThrough` is the highest position retention has deleted from a log;
 *   a reader may resume after any position from `prunedThrough` to `head`.
 * - The log epoch is a random id created with the database. It changes when the
 *   data is reset, so cursors from an earlier database are detectable.
 *
 * Failures are ConnectErrors from `rpc/errors.ts` (not_found for a missing
 * conversation or a non-member, already_exists for a reused idempotency key,
 * and so on), so that every implementation reports the same code, reason and
 * message. A promise from a write method resolves only after the change is
 * durable. Implementations: `sqlite/sqlite-store.ts` and
 * `postgres/postgres-store.ts`.
 */
import type { Conversation, ConversationKind, Event, Message } from "@chatwire/gen";

export interface Store {
  /** Random id of this database's event logs, fixed at creation. */
  readonly logEpoch: string;

  /**
   * Creates a conversation with the creator as a member and appends a
   * ConversationEvent to every member's log. A direct conversation that exists
   * for the pair, or a group with the creator's earlier request id, is
   * returned with `existing: true` and nothing is appended.
   */
  createConversation(input: CreateConversationInput): Promise<{ conversation: Conversation; existing: boolean }>;

  /** Returns the conversation as the viewer sees it, or throws not_found for a non-member. */
  getConversation(viewerId: string, conversationId: string): Promise<Conversation>;

  /** Returns the viewer's conversations, latest activity first, after the page key. */
  listConversations(
    viewerId: string,
    page: { limit: number; after?: ConversationPageKey | undefined },
  ): Promise<{ conversations: Conversation[]; next?: ConversationPageKey }>;

  /**
   * Adds users to a group; existing members are left as they are. Throws
   * failed_precondition for a direct conversation and resource_exhausted when
   * the group would exceed maxMembers. Appends a ConversationEvent to every
   * member when the membership changed.
   */
  addMembers(input: ChangeMembersInput & { maxMembers: number }): Promise<Conversation>;

  /**
   * Removes users from a group; non-members are ignored. Removed users get a
   * ConversationEvent with removed = true, remaining members the new state.
   * Returns undefined when the caller removed itself.
   */
  removeMembers(input: ChangeMembersInput): Promise<Conversation | undefined>;

  /**
   * Commits a message at the conversation's next seq and appends a
   * MessageEvent to every member's log, the sender's included. A second call
   * with the same (senderId, clientMessageId), conversation and text returns
   * the stored message with `replayed: true`; with another conversation or
   * text it throws already_exists (IDEMPOTENCY_KEY_REUSED).
   */
  sendMessage(input: SendMessageInput): Promise<{ message: Message; replayed: boolean }>;

  /**
   * Returns up to `limit` messages with seq < beforeSeq (0: from the newest)
   * that the viewer can read (seq > joined_after_seq), in ascending seq order.
   */
  getHistory(
    viewerId: string,
    conversationId: string,
    page: { beforeSeq: number; limit: number },
  ): Promise<{ messages: Message[]; hasMore: boolean }>;

  /**
   * Raises the user's delivered and read marks (never lowers them) and stores
   * the device's cursor position when it is higher than the stored one. A mark
   * above the conversation's last seq throws invalid_argument and applies
   * nothing. Each conversation whose marks rose gets a ReceiptEvent in every
   * member's log. Returns the stored marks in input order.
   */
  acknowledge(input: AcknowledgeInput): Promise<StoredMarks[]>;

  /** Stores the device's cursor position when it is higher than the stored one. */
  recordDeviceCursor(userId: string, deviceId: string, position: number): Promise<void>;

  /** Returns up to `limit` events of the user's log with position > afterPosition, in order. */
  readEvents(userId: string, afterPosition: number, limit: number): Promise<Event[]>;

  /** Returns the range a reader of the user's log may resume from: prunedThrough..head. */
  logBounds(userId: string): Promise<LogBounds>;

  /**
   * Deletes events committed before cutoffMs (Unix milliseconds) and raises
   * each affected log's prunedThrough, in steps that each commit on their own.
   * Calls onProgress with the running total after each step. Returns the
   * number of deleted events.
   */
  pruneEvents(cutoffMs: number, onProgress?: (deletedSoFar: number) => void): Promise<number>;

  /** Waits for pending writes to commit, then closes the database. */
  close(): Promise<void>;
}

export interface LogBounds {
  prunedThrough: number;
  head: number;
}

/** The newest position per user after a commit, for waking readers. */
export type CommittedHeads = ReadonlyMap<string, number>;

export interface CreateConversationInput {
  creatorId: string;
  kind: ConversationKind.DIRECT | ConversationKind.GROUP;
  /** Other members, without the creator, already checked and deduplicated. */
  memberIds: string[];
  title: string;
  /** Group idempotency key per creator; empty for none. */
  requestId: string;
  maxMembers: number;
}

export interface ChangeMembersInput {
  callerId: string;
  conversationId: string;
  userIds: string[];
}

export interface SendMessageInput {
  senderId: string;
  senderDeviceId: string;
  conversationId: string;
  clientMessageId: string;
  text: string;
}

export interface AcknowledgeInput {
  userId: string;
  deviceId: string;
  /** The device's applied cursor position, or undefined to leave it. */
  cursorPosition: number | undefined;
  /** At most one mark per conversation; 0 leaves a mark as it is. */
  marks: Array<{ conversationId: string; deliveredSeq: number; readSeq: number }>;
}

export interface StoredMarks {
  conversationId: string;
  deliveredSeq: number;
  readSeq: number;
}

/** Keyset position in a user's conversation list. */
export interface ConversationPageKey {
  activityAt: number;
  conversationId: string;
}

/** Hooks a store calls after each commit. */
export interface StoreObserver {
  /** Events were appended: wake readers of these logs. */
  eventsCommitted(heads: CommittedHeads): void;
  /** A transaction committed `size` writes; latencies are enqueue-to-commit per write, in seconds. */
  batchCommitted?(size: number, latenciesSeconds: number[]): void;
}
