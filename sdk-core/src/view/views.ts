import type { Logger } from "../options.js";
import type { ChatStorage, ConversationRecord, MemberRecord, MessageRecord } from "../storage/types.js";
import { findMember } from "../sync/records.js";
import { confirmedItem, pendingItem } from "./message-items.js";
import type { MessageItem } from "./message-items.js";

/** Contents of a conversation view. */
export interface ConversationSnapshot {
  readonly conversationId: string;
  /** Confirmed messages in seq order, then pending and failed ones in send order. */
  readonly items: readonly MessageItem[];
  /** True when older messages exist than the oldest shown: call `loadOlder()`. */
  readonly hasOlder: boolean;
}

/** One row of the conversation list. */
export interface ConversationSummary {
  readonly conversationId: string;
  readonly kind: "direct" | "group";
  readonly title: string;
  readonly members: readonly MemberRecord[];
  readonly unreadCount: number;
  readonly lastSeq: number;
  /** The newest confirmed message stored on this device, if any. */
  readonly lastMessage: MessageRecord | undefined;
  /** Messages of this conversation still in the outbox (pending or failed). */
  readonly outboxCount: number;
  readonly removed: boolean;
  readonly updatedAt: number;
}

export type ConversationListener = (snapshot: ConversationSnapshot) => void;
export type ConversationListListener = (conversations: readonly ConversationSummary[]) => void;

/** Messages a conversation view shows when the host names no limit. */
export const defaultViewLimit = 50;

interface Watcher {
  /** Reads storage and calls the listener when the result differs from the last one it got. */
  load(): Promise<void>;
  dirty: boolean;
  running: Promise<void> | undefined;
  closed: boolean;
}

interface ConversationWatcher extends Watcher {
  /** Confirmed messages shown, the newest ones. */
  limit: number;
}

/**
 * Live views over storage. A view re-reads storage after every committed
 * change that concerns it, and emits an immutable snapshot when the result
 * differs from the last one. Changes committed in the same tick are
 * coalesced into one read.
 */
export class Views {
  readonly #storage: ChatStorage;
  readonly #userId: string;
  readonly #logger: Logger;
  readonly #conversationWatchers = new Map<string, Set<ConversationWatcher>>();
  readonly #listWatchers = new Set<Watcher>();
  #scheduled = false;

  constructor(storage: ChatStorage, userId: string, logger: Logger) {
    this.#storage = storage;
    this.#userId = userId;
    this.#logger = logger;
  }

  watchConversation(conversationId: string, listener: ConversationListener, limit: number): () => void {
    let last = "";
    const watcher: ConversationWatcher = {
      dirty: true,
      running: undefined,
      closed: false,
      limit,
      load: async () => {
        const snapshot = await this.#readConversation(conversationId, watcher.limit);
        const fingerprint = JSON.stringify(snapshot);
        if (fingerprint === last || watcher.closed) return;
        last = fingerprint;
        this.#call(() => listener(snapshot));
      },
    };
    let watchers = this.#conversationWatchers.get(conversationId);
    if (watchers === undefined) {
      watchers = new Set();
      this.#conversationWatchers.set(conversationId, watchers);
    }
    watchers.add(watcher);
    this.#schedule();
    return () => {
      watcher.closed = true;
      watchers.delete(watcher);
      if (watchers.size === 0) this.#conversationWatchers.delete(conversationId);
    };
  }

  watchConversations(listener: ConversationListListener): () => void {
    let last = "";
    const watcher: Watcher = {
      dirty: true,
      running: undefined,
      closed: false,
      load: async () => {
        const summaries = await this.#readConversationList();
        const fingerprint = JSON.stringify(summaries);
        if (fingerprint === last || watcher.closed) return;
        last = fingerprint;
        this.#call(() => listener(summaries));
      },
    };
    this.#listWatchers.add(watcher);
    this.#schedule();
    return () => {
      watcher.closed = true;
      this.#listWatchers.delete(watcher);
    };
  }

  /** Marks the views of these conversations, and the conversation list, for a re-read. */
  notify(conversationIds: Iterable<string>): void {
    let any = false;
    for (const id of conversationIds) {
      any = true;
      for (const watcher of this.#conversationWatchers.get(id) ?? []) watcher.dirty = true;
    }
    if (!any) return;
    for (const watcher of this.#listWatchers) watcher.dirty = true;
    this.#schedule();
  }

  /** Marks every view for a re-read (after the synced state was rebuilt). */
  notifyAll(): void {
    for (const watchers of this.#conversationWatchers.values()) for (const watcher of watchers) watcher.dirty = true;
    for (const watcher of this.#listWatchers) watcher.dirty = true;
    this.#schedule();
  }

  /** Returns the largest number of confirmed messages a view of the conversation shows, or 0 without views. */
  windowSize(conversationId: string): number {
    let size = 0;
    for (const watcher of this.#conversationWatchers.get(conversationId) ?? []) size = Math.max(size, watcher.limit);
    return size;
  }

  /** Shows `count` more older messages in every view of the conversation. */
  growWindow(conversationId: string, count: number): void {
    for (const watcher of this.#conversationWatchers.get(conversationId) ?? []) {
      watcher.limit += count;
      watcher.dirty = true;
    }
    this.#schedule();
  }

  /** Calls a host listener; a throw is logged so that one faulty listener does not stop the others. */
  #call(notify: () => void): void {
    try {
      notify();
    } catch (error) {
      this.#logger.error({ err: error }, "view listener threw; the client carries on");
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    void Promise.resolve().then(() => {
      this.#scheduled = false;
      for (const watchers of this.#conversationWatchers.values()) for (const watcher of watchers) this.#refresh(watcher);
      for (const watcher of this.#listWatchers) this.#refresh(watcher);
    });
  }

  #refresh(watcher: Watcher): void {
    if (!watcher.dirty || watcher.running !== undefined || watcher.closed) return;
    watcher.dirty = false;
    watcher.running = watcher
      .load()
      .catch((error: unknown) => this.#logger.error({ err: error }, "view refresh failed; it retries on the next change"))
      .finally(() => {
        watcher.running = undefined;
        // A change committed during the read marked the view dirty again.
        if (watcher.dirty) this.#refresh(watcher);
      });
  }

  async #readConversation(conversationId: string, limit: number): Promise<ConversationSnapshot> {
    const { conversation, messages, outbox } = await this.#storage.transaction("readonly", async (tx) => ({
      conversation: await tx.getConversation(conversationId),
      messages: await tx.getMessages(conversationId, { limit }),
      outbox: await tx.listOutbox(conversationId),
    }));
    const items = [
      ...messages.map((message) => confirmedItem(message, conversation, this.#userId)),
      ...outbox.map((entry) => pendingItem(entry, this.#userId)),
    ];
    return Object.freeze({
      conversationId,
      items: Object.freeze(items),
      hasOlder: hasOlderMessages(messages, conversation, this.#userId),
    });
  }

  async #readConversationList(): Promise<readonly ConversationSummary[]> {
    const rows = await this.#storage.transaction("readonly", async (tx) => {
      const conversations = await tx.listConversations();
      const outboxCounts = new Map<string, number>();
      for (const entry of await tx.listOutbox()) {
        outboxCounts.set(entry.conversationId, (outboxCounts.get(entry.conversationId) ?? 0) + 1);
      }

      const result: ConversationSummary[] = [];
      for (const conversation of conversations) {
        const [lastMessage] = await tx.getMessages(conversation.conversationId, { limit: 1 });
        result.push(summarize(conversation, lastMessage, outboxCounts.get(conversation.conversationId) ?? 0));
      }
      return result;
    });
    return Object.freeze(rows);
  }
}

/** Tells whether the server has messages older than the oldest stored one that the user may read. */
export function hasOlderMessages(
  messages: readonly MessageRecord[],
  conversation: ConversationRecord | undefined,
  userId: string,
): boolean {
  const floor = conversation === undefined ? 0 : (findMember(conversation, userId)?.joinedAfterSeq ?? 0);
  const oldest = messages[0]?.seq ?? (conversation === undefined ? 0 : conversation.lastSeq + 1);
  return oldest > floor + 1;
}

function summarize(conversation: ConversationRecord, lastMessage: MessageRecord | undefined, outboxCount: number): ConversationSummary {
  return Object.freeze({
    conversationId: conversation.conversationId,
    kind: conversation.kind,
    title: conversation.title,
    members: Object.freeze(conversation.members.map((member) => Object.freeze({ ...member }))),
    unreadCount: conversation.unreadCount,
    lastSeq: conversation.lastSeq,
    lastMessage: lastMessage === undefined ? undefined : Object.freeze({ ...lastMessage }),
    outboxCount,
    removed: conversation.removed,
    updatedAt: conversation.updatedAt,
  });
}
