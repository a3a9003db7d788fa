export { createChatClient } from "./client.js";
export type { ChatClient, WatchConversationOptions } from "./chat-client.js";
export type { ChatClientOptions, Clock, Logger, TimerHandle, TokenRequestContext } from "./options.js";
export { ChatError } from "./errors/chat-error.js";
export type { ChatErrorDetail } from "./errors/chat-error.js";
export { classifyFailure } from "./errors/classify.js";
export type { FailureAction } from "./errors/classify.js";
export { backoffDelay } from "./connection/backoff.js";
export type { BackoffPolicy } from "./connection/backoff.js";
export type { ConnectionState, ConnectionStateListener } from "./connection/state.js";
export type { ChatEvent, ChatEventListener } from "./events.js";
export type { CreateGroupOptions } from "./conversations.js";
export type { MessageItem, MessageStatus } from "./view/message-items.js";
export type {
  ConversationListListener,
  ConversationListener,
  ConversationSnapshot,
  ConversationSummary,
} from "./view/views.js";
export type {
  ChatStorage,
  ConversationRecord,
  MemberRecord,
  MessageRange,
  MessageRecord,
  MetaKey,
  OutboxEntry,
  OutboxFailure,
  PendingReadMark,
  StorageTransaction,
  TransactionMode,
} from "./storage/types.js";
