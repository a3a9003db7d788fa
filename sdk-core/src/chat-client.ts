import type { CreateGroupOptions } from "./conversations.js";
import type { ConnectionState, ConnectionStateListener } from "./connection/state.js";
import type { ChatEventListener } from "./events.js";
import type { ConversationRecord } from "./storage/types.js";
import type { ConversationListListener, ConversationListener } from "./view/views.js";

/** Options of `watchConversation`. */
export interface WatchConversationOptions {
  /** Confirmed messages shown at first (the newest ones); `loadOlder()` adds more. Default 50. */
  limit?: number;
}

/** A chat client for one user on one device. Create it with `createChatClient`. */
export interface ChatClient {
  /**
   * Opens the storage (rejecting one that belongs to another user), creates
   * the device id on first use, resumes the outbox and starts connecting
   * unless the host reported the network offline or the app in the background.
   */
  start(): Promise<void>;

  /**
   * Queues a message and resolves once it is committed to the outbox in
   * storage. From then on it survives a crash, and it is sent (with retries)
   * when possible. Rejects with invalid_argument for empty text, or for text
   * over the server's size limit once the limit is known. Rejects with
   * failed_precondition for a conversation the user was removed from.
   */
  send(conversationId: string, text: string): Promise<{ clientMessageId: string }>;
  /** Queues a failed message again with the same clientMessageId (for a pending one: sends now). */
  retry(clientMessageId: string): Promise<void>;
  /** Removes a pending or failed message from the outbox. */
  discard(clientMessageId: string): Promise<void>;
  /** Marks a conversation read up to `seq` (default: its newest message). */
  markRead(conversationId: string, seq?: number): Promise<void>;

  createDirectConversation(userId: string): Promise<ConversationRecord>;
  createGroup(options: CreateGroupOptions): Promise<ConversationRecord>;
  addMembers(conversationId: string, userIds: readonly string[]): Promise<ConversationRecord>;
  /** Resolves with undefined when the local user removed itself. */
  removeMembers(conversationId: string, userIds: readonly string[]): Promise<ConversationRecord | undefined>;
  /** Fetches and stores every conversation of the user, most recent activity first. */
  listConversations(): Promise<ConversationRecord[]>;
  /** Shows one page more of older messages in the conversation's views, fetching them when storage runs out. */
  loadOlder(conversationId: string): Promise<void>;

  /** Calls `listener` with the conversation's messages now and after every change; returns the unsubscribe function. */
  watchConversation(
    conversationId: string,
    listener: ConversationListener,
    options?: WatchConversationOptions,
  ): () => void;
  /** Calls `listener` with the conversation list now and after every change; returns the unsubscribe function. */
  watchConversations(listener: ConversationListListener): () => void;
  /** Calls `listener` for every applied change (messages, receipts, conversations, resyncs, failed sends). */
  onEvent(listener: ChatEventListener): () => void;

  readonly connectionState: ConnectionState;
  onConnectionStateChange(listener: ConnectionStateListener): () => void;

  /** Syncs now and ends any backoff wait, for a host that detected that connectivity is back. */
  syncNow(): Promise<void>;
  /** Tells the client whether the network is available. */
  setNetworkAvailable(online: boolean): void;
  /** Closes the connection and every timer: the app went to the background. */
  background(): void;
  /** Reconnects and syncs from the stored cursor: the app is in the foreground again. */
  foreground(): void;
  /** For a push wake-up: syncs and flushes the outbox within `deadlineMs`, then stops. */
  wake(options: { deadlineMs: number }): Promise<void>;
  /** Stops everything. The storage stays open: the host that created it closes it. */
  close(): Promise<void>;
}
