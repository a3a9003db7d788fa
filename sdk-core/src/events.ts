import type { ConversationRecord, MessageRecord, OutboxEntry } from "./storage/types.js";

/**
 * Something the client committed to storage, for hosts that react to changes
 * (notifications, analytics). Views re-render on their own and need none of these.
 *
 * - message: a message was stored for the first time; `own` is true for the
 *   local user's messages (sent from this or another device).
 * - receipt: a member's delivered or read mark went up (values are the new maxima).
 * - conversation: a conversation was created or changed, or the user was removed from it.
 * - resync: the server rejected the sync cursor (retention deleted its events,
 *   or the server never issued it), so the client discarded its synced state
 *   and rebuilds it from the server: every conversation and its newest page of
 *   history. The outbox and pending read marks are kept, and views fill in as
 *   each page is stored. Also emitted when a rebuild left unfinished by an
 *   earlier process starts over.
 * - outbox-failed: the server rejected an outbox entry for good; it stays
 *   until the host calls `retry()` or `discard()`.
 */
export type ChatEvent =
  | { type: "message"; message: MessageRecord; own: boolean }
  | { type: "receipt"; conversationId: string; userId: string; deliveredSeq: number; readSeq: number }
  | { type: "conversation"; conversation: ConversationRecord; removed: boolean }
  | { type: "resync"; reason: string }
  | { type: "outbox-failed"; entry: OutboxEntry };

/** Receives the events the client applied. */
export type ChatEventListener = (event: ChatEvent) => void;
