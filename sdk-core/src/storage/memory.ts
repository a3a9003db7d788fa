import type {
  ChatStorage,
  ConversationRecord,
  MessageRange,
  MessageRecord,
  MetaKey,
  OutboxEntry,
  PendingReadMark,
  StorageTransaction,
  TransactionMode,
} from "./types.js";

/**
 * A ChatStorage that keeps everything in memory: for tests, and for hosts that
 * accept losing the outbox when the process ends (it gives no durability).
 *
 * Transactions run one at a time in request order. A read-write transaction
 * works on a copy-on-write draft of the committed state, copying each map the
 * first time it writes to it. The draft replaces the committed state only
 * when the callback resolves, so a throw discards every write. Records are copied on the way in and out, so callers never share
 * objects with the store.
 */
export function createMemoryStorage(): ChatStorage {
  return new MemoryStorage();
}

/** Widest seq range that getMessages reads by direct lookups. */
const maxDirectLookups = 1_024;

interface State {
  meta: Map<MetaKey, string>;
  conversations: Map<string, ConversationRecord>;
  /** Messages by conversation id, then by seq. */
  messages: Map<string, Map<number, MessageRecord>>;
  /** Entries by clientMessageId; a Map keeps insertion order, and set() on an existing key keeps its place. */
  outbox: Map<string, OutboxEntry>;
  /** Pending read marks: readSeq by conversation id. */
  pendingReadMarks: Map<string, number>;
}

class MemoryStorage implements ChatStorage {
  #state: State = {
    meta: new Map(),
    conversations: new Map(),
    messages: new Map(),
    outbox: new Map(),
    pendingReadMarks: new Map(),
  };
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  transaction<T>(mode: TransactionMode, run: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("memory storage is closed; create a new one"));
    const result = this.#queue.then(() => this.#run(mode, run));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
  }

  async #run<T>(mode: TransactionMode, run: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    const tx = new MemoryTransaction(this.#state, mode);
    try {
      const value = await run(tx);
      if (mode === "readwrite") this.#state = tx.draft();
      return value;
    } finally {
      tx.finish();
    }
  }
}

class MemoryTransaction implements StorageTransaction {
  #state: State;
  readonly #mode: TransactionMode;
  #active = true;
  /** Sections of the draft already copied in this transaction. */
  readonly #copiedSections = new Set<keyof State>();
  /** Conversations whose message map is already copied in this transaction. */
  readonly #copiedConversations = new Set<string>();

  constructor(committed: State, mode: TransactionMode) {
    this.#state = { ...committed };
    this.#mode = mode;
  }

  draft(): State {
    return this.#state;
  }

  finish(): void {
    this.#active = false;
  }

  async getMeta(key: MetaKey): Promise<string | undefined> {
    this.#checkActive();
    return this.#state.meta.get(key);
  }

  async setMeta(key: MetaKey, value: string): Promise<void> {
    this.#write("meta").set(key, value);
  }

  async deleteMeta(key: MetaKey): Promise<void> {
    this.#write("meta").delete(key);
  }

  async getConversation(conversationId: string): Promise<ConversationRecord | undefined> {
    this.#checkActive();
    const record = this.#state.conversations.get(conversationId);
    return record === undefined ? undefined : copyConversation(record);
  }

  async putConversation(record: ConversationRecord): Promise<void> {
    this.#write("conversations").set(record.conversationId, copyConversation(record));
  }

  async listConversations(): Promise<ConversationRecord[]> {
    this.#checkActive();
    return [...this.#state.conversations.values()]
      .sort((a, b) => b.updatedAt - a.updatedAt || compareStrings(a.conversationId, b.conversationId))
      .map(copyConversation);
  }

  async putMessages(records: readonly MessageRecord[]): Promise<void> {
    const byConversation = this.#write("messages");
    for (const record of records) {
      let messages = byConversation.get(record.conversationId);
      if (messages === undefined || !this.#copiedConversations.has(record.conversationId)) {
        messages = new Map(messages);
        byConversation.set(record.conversationId, messages);
        this.#copiedConversations.add(record.conversationId);
      }
      messages.set(record.seq, { ...record });
    }
  }

  async getMessages(conversationId: string, range: MessageRange): Promise<MessageRecord[]> {
    this.#checkActive();
    const messages = this.#state.messages.get(conversationId);
    if (messages === undefined || range.limit <= 0) return [];
    const { beforeSeq, afterSeq, limit } = range;
    let selected: MessageRecord[];
    if (beforeSeq !== undefined && afterSeq !== undefined && beforeSeq - afterSeq <= maxDirectLookups) {
      // A narrow range (such as "does seq N exist?") is looked up seq by seq instead of sorting the conversation.
      selected = [];
      for (let seq = afterSeq + 1; seq < beforeSeq; seq++) {
        const message = messages.get(seq);
        if (message !== undefined) selected.push(message);
      }
    } else {
      selected = [...messages.values()]
        .filter((m) => (beforeSeq === undefined || m.seq < beforeSeq) && (afterSeq === undefined || m.seq > afterSeq))
        .sort((a, b) => a.seq - b.seq);
    }
    const kept = afterSeq !== undefined && beforeSeq === undefined ? selected.slice(0, limit) : selected.slice(-limit);
    return kept.map((m) => ({ ...m }));
  }

  async addOutbox(entry: OutboxEntry): Promise<void> {
    const outbox = this.#write("outbox");
    if (outbox.has(entry.clientMessageId)) {
      throw new Error(`outbox entry ${entry.clientMessageId} exists already; use a new clientMessageId`);
    }
    outbox.set(entry.clientMessageId, copyOutbox(entry));
  }

  async getOutbox(clientMessageId: string): Promise<OutboxEntry | undefined> {
    this.#checkActive();
    const entry = this.#state.outbox.get(clientMessageId);
    return entry === undefined ? undefined : copyOutbox(entry);
  }

  async listOutbox(conversationId?: string): Promise<OutboxEntry[]> {
    this.#checkActive();
    return [...this.#state.outbox.values()]
      .filter((entry) => conversationId === undefined || entry.conversationId === conversationId)
      .map(copyOutbox);
  }

  async updateOutbox(entry: OutboxEntry): Promise<void> {
    const outbox = this.#write("outbox");
    if (!outbox.has(entry.clientMessageId)) {
      throw new Error(`outbox entry ${entry.clientMessageId} not found; it was sent or discarded`);
    }
    outbox.set(entry.clientMessageId, copyOutbox(entry));
  }

  async deleteOutbox(clientMessageId: string): Promise<boolean> {
    if (!this.#state.outbox.has(clientMessageId)) {
      this.#checkWritable();
      return false;
    }
    return this.#write("outbox").delete(clientMessageId);
  }

  async putPendingReadMark(mark: PendingReadMark): Promise<void> {
    const marks = this.#write("pendingReadMarks");
    const stored = marks.get(mark.conversationId);
    if (stored === undefined || mark.readSeq > stored) marks.set(mark.conversationId, mark.readSeq);
  }

  async listPendingReadMarks(): Promise<PendingReadMark[]> {
    this.#checkActive();
    return [...this.#state.pendingReadMarks].map(([conversationId, readSeq]) => ({ conversationId, readSeq }));
  }

  async deletePendingReadMark(conversationId: string, acknowledgedSeq: number): Promise<boolean> {
    const stored = this.#state.pendingReadMarks.get(conversationId);
    if (stored === undefined || stored > acknowledgedSeq) {
      this.#checkWritable();
      return false;
    }
    return this.#write("pendingReadMarks").delete(conversationId);
  }

  async clearSyncedState(): Promise<void> {
    this.#write("conversations").clear();
    this.#write("messages").clear();
    this.#copiedConversations.clear();
    const meta = this.#write("meta");
    meta.delete("cursor");
    meta.delete("position");
    meta.delete("rebuild");
  }

  /** Returns the draft's map for `section`, copying it on the first write of this transaction. */
  #write<K extends keyof State>(section: K): State[K] {
    this.#checkWritable();
    if (!this.#copiedSections.has(section)) {
      this.#state[section] = new Map(this.#state[section] as Map<unknown, unknown>) as State[K];
      this.#copiedSections.add(section);
    }
    return this.#state[section];
  }

  #checkActive(): void {
    if (!this.#active) throw new Error("transaction has finished; run operations inside the transaction callback");
  }

  #checkWritable(): void {
    this.#checkActive();
    if (this.#mode !== "readwrite") throw new Error("write in a readonly transaction; request a readwrite transaction");
  }
}

function copyConversation(record: ConversationRecord): ConversationRecord {
  return { ...record, members: record.members.map((member) => ({ ...member })) };
}

function copyOutbox(entry: OutboxEntry): OutboxEntry {
  const copy: OutboxEntry = { ...entry };
  if (entry.failure !== undefined) copy.failure = { ...entry.failure };
  return copy;
}

function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
