/**
 * The storage contract every chatwire client storage adapter implements.
 *
 * Vocabulary:
 * - A *conversation record* is the local copy of a conversation and the
 *   receipt marks of its members.
 * - A *message record* is a message the server has committed: it always has
 *   a seq. Messages the server has not acknowledged yet live in the outbox.
 * - An *outbox entry* is a message accepted by `send()` and not yet
 *   acknowledged by the server. Its durability point is the commit of the
 *   transaction that adds it: once `transaction()` resolves, the entry
 *   survives a process kill.
 * - A *pending read mark* is a read mark the local user set that the server
 *   has not acknowledged yet. It is written in the transaction that raises
 *   the local read mark, so it survives a process kill and is sent again
 *   after a restart.
 * - *Meta* contains small named values: the device id, the sync cursor, the
 *   position of the last applied event, the user the storage belongs to.
 *
 * The contract is shaped by the three engines that implement it:
 * better-sqlite3 (synchronous), sql.js (synchronous, in memory, persisted by
 * the adapter after each commit) and IndexedDB (asynchronous, where a
 * transaction commits by itself as soon as its callback awaits anything that
 * is not one of its own requests). So every operation returns a promise, and
 * a transaction callback awaits only operations of its own `tx`: no network
 * call, timer or other transaction inside it.
 */

/** Whether a transaction only reads or also writes. */
export type TransactionMode = "readonly" | "readwrite";

/** Names of the values kept in meta. */
export type MetaKey =
  /** The user id the storage belongs to; a client for another user rejects it. */
  | "userId"
  /** This installation's device id, generated once and kept for good. */
  | "deviceId"
  /** The opaque sync cursor after the last applied event. */
  | "cursor"
  /** Position of the last applied event in the user's log, as a decimal string. */
  | "position"
  /**
   * Present while the synced state is being rebuilt after the server rejected
   * the cursor; the value is the reason. Until it is deleted the stored
   * conversations and messages may be incomplete.
   */
  | "rebuild";

/** A member of a conversation and the member's receipt marks. */
export interface MemberRecord {
  userId: string;
  /** Highest seq one of the member's devices received. Never decreases. */
  deliveredSeq: number;
  /** Highest seq the member read. Never decreases. */
  readSeq: number;
  /** Seq of the last message before the member joined. */
  joinedAfterSeq: number;
}

/** The local copy of one conversation. */
export interface ConversationRecord {
  conversationId: string;
  kind: "direct" | "group";
  /** Group title; empty for direct conversations. */
  title: string;
  /** Current members, ordered by user id. */
  members: MemberRecord[];
  /** Highest seq known locally, from a message or from the server's conversation state. */
  lastSeq: number;
  /** Messages from other users with a seq above the local user's read mark. */
  unreadCount: number;
  /** True once the local user was removed from the conversation. */
  removed: boolean;
  /** Time of the latest activity in milliseconds since the epoch, for ordering lists. */
  updatedAt: number;
}

/** A message the server committed. */
export interface MessageRecord {
  conversationId: string;
  /** Gapless position in the conversation, from 1. */
  seq: number;
  /** Server-assigned id. */
  messageId: string;
  senderId: string;
  senderDeviceId: string;
  /** The sender's idempotency key (UUIDv7). */
  clientMessageId: string;
  /** Text exactly as the server returned it. */
  text: string;
  /** Server commit time in milliseconds since the epoch; for display only. */
  createdAt: number;
}

/** The reason the server rejected an outbox entry for good. */
export interface OutboxFailure {
  /** Connect code name, such as "invalid_argument". */
  code: string;
  /** The server's message. */
  message: string;
  /** The chatwire.v1 ErrorReason name, when the server sent one. */
  reason?: string;
}

/** A message accepted by `send()` that the server has not acknowledged yet. */
export interface OutboxEntry {
  /** Idempotency key (UUIDv7), chosen before the first attempt and kept for every retry. */
  clientMessageId: string;
  conversationId: string;
  text: string;
  /** Local time of `send()` in milliseconds since the epoch; for display only. */
  createdAt: number;
  /**
   * queued: waits for its turn or is being sent.
   * failed: the server rejected it for good. It stays parked until the host
   * retries or discards it, and the rest of the conversation's queue goes on.
   */
  state: "queued" | "failed";
  /** How many times a send of this entry was attempted. */
  attempts: number;
  /** Set when state is "failed". */
  failure?: OutboxFailure;
}

/** A read mark of the local user that the server has not acknowledged yet. */
export interface PendingReadMark {
  conversationId: string;
  /** Highest seq the local user read in the conversation. */
  readSeq: number;
}

/** A range of messages of one conversation to read. */
export interface MessageRange {
  /** Only messages with seq below this one. */
  beforeSeq?: number;
  /** Only messages with seq above this one. */
  afterSeq?: number;
  /**
   * Maximum number of messages. With beforeSeq (or neither bound) the newest
   * ones below the bound are kept; with only afterSeq the oldest above it.
   */
  limit: number;
}

/**
 * The operations of one transaction. Every write is visible to later reads of
 * the same transaction, and all of them commit together or not at all.
 */
export interface StorageTransaction {
  getMeta(key: MetaKey): Promise<string | undefined>;
  setMeta(key: MetaKey, value: string): Promise<void>;
  deleteMeta(key: MetaKey): Promise<void>;

  getConversation(conversationId: string): Promise<ConversationRecord | undefined>;
  /** Inserts or replaces the record with the same conversationId. */
  putConversation(record: ConversationRecord): Promise<void>;
  /** Returns every conversation, newest updatedAt first, then by conversationId. */
  listConversations(): Promise<ConversationRecord[]>;

  /**
   * Inserts messages, replacing any stored message with the same
   * (conversationId, seq). The records may span several conversations.
   */
  putMessages(records: readonly MessageRecord[]): Promise<void>;
  /** Returns messages of one conversation in ascending seq order. */
  getMessages(conversationId: string, range: MessageRange): Promise<MessageRecord[]>;

  /** Appends an entry. Throws when an entry with the same clientMessageId exists. */
  addOutbox(entry: OutboxEntry): Promise<void>;
  getOutbox(clientMessageId: string): Promise<OutboxEntry | undefined>;
  /**
   * Returns entries in the order they were added (an update keeps an entry's
   * place), optionally only those of one conversation.
   */
  listOutbox(conversationId?: string): Promise<OutboxEntry[]>;
  /** Replaces the entry with the same clientMessageId. Throws when there is none. */
  updateOutbox(entry: OutboxEntry): Promise<void>;
  /** Removes an entry. Returns false when there was none. */
  deleteOutbox(clientMessageId: string): Promise<boolean>;

  /**
   * Stores a pending read mark. When the conversation has one already, the
   * higher readSeq is kept, so a stale lower mark never lowers it.
   */
  putPendingReadMark(mark: PendingReadMark): Promise<void>;
  /** Returns every pending read mark, at most one per conversation, in no particular order. */
  listPendingReadMarks(): Promise<PendingReadMark[]>;
  /**
   * Deletes the conversation's pending read mark when its readSeq is at most
   * `acknowledgedSeq`. A higher mark, raised while the acknowledged one was
   * on its way, stays pending. Returns whether a mark was deleted.
   */
  deletePendingReadMark(conversationId: string, acknowledgedSeq: number): Promise<boolean>;

  /**
   * Deletes conversations, messages, the cursor, the position and the
   * rebuild marker, so the client can rebuild its state from the server
   * after the server rejected its cursor as expired or invalid. Keeps the
   * outbox, the pending read marks, the device id and the user id.
   */
  clearSyncedState(): Promise<void>;
}

/**
 * A client's persistent storage. One instance belongs to one user and one
 * device, and one client uses it at a time.
 */
export interface ChatStorage {
  /**
   * Runs `run` in one transaction and resolves with its result after the
   * commit. When `run` throws or rejects, every write is rolled back and the
   * promise rejects with that error. A write in a "readonly" transaction
   * rejects. Transactions run one at a time, in the order they were
   * requested. The callback awaits only operations of its own `tx` (see the
   * module note on IndexedDB).
   */
  transaction<T>(mode: TransactionMode, run: (tx: StorageTransaction) => Promise<T>): Promise<T>;
  /** Finishes pending work and releases the underlying database. */
  close(): Promise<void>;
}
