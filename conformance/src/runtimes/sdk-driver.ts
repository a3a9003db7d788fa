/**
 * A RuntimeClient over a real sdk-core ChatClient and its storage. It uses
 * only the core's public API and the storage contract, so the same driver
 * serves the Node runtime (in process and in a host process) and can run
 * inside a browser page for the browser runtimes.
 *
 * Snapshots read the storage in one readonly transaction, and the message
 * views from `watchConversation` listeners the driver keeps open for every
 * conversation it has seen in storage or in the outbox.
 */
import type { ChatClient, ChatEvent, ChatStorage, Clock, ConnectionState, TokenRequestContext } from "@chatwire/sdk-core";

import { pollFor } from "./conditions.js";
import type {
  ClientEvent,
  ClientSnapshot,
  ConversationView,
  MessageView,
  OutboxView,
  RuntimeClient,
  StoredMessage,
  WaitCondition,
} from "./types.js";

/** Everything the driver needs from a runtime. */
export interface SdkDriverParts {
  userId: string;
  storage: ChatStorage;
  /** Creates the ChatClient with the driver's recording token callback and its clock. */
  createClient(parts: { getToken(context: TokenRequestContext): Promise<string>; clock: Clock }): ChatClient;
  /** The host app's token source. */
  getToken(context: TokenRequestContext): Promise<string>;
  /** Start with the network marked unavailable. */
  startOffline?: boolean;
  /** Milliseconds added to the clock the SDK reads. Default 0. */
  clockOffsetMs?: number;
}

/** More messages than any scenario stores in one conversation. */
const SNAPSHOT_MESSAGE_LIMIT = 100_000;

/** Creates the client, starts it and returns a RuntimeClient over it. */
export async function startSdkDriver(parts: SdkDriverParts): Promise<RuntimeClient> {
  const events: ClientEvent[] = [];
  const client = parts.createClient({
    getToken: async (context) => {
      events.push({ type: "token", at: Date.now(), reason: context.reason });
      return parts.getToken(context);
    },
    clock: offsetClock(parts.clockOffsetMs ?? 0),
  });
  const stopEvents = client.onEvent((event) => {
    const recorded = toClientEvent(event);
    if (recorded !== undefined) events.push(recorded);
  });
  const stopStates = client.onConnectionStateChange((next: ConnectionState, previous: ConnectionState) => {
    events.push({ type: "connection", at: Date.now(), next: next.kind, prev: previous.kind, detail: next });
  });

  const views = new Map<string, MessageView[]>();
  const unwatch = new Map<string, () => void>();
  const watch = (conversationId: string) => {
    if (unwatch.has(conversationId)) return;
    unwatch.set(
      conversationId,
      client.watchConversation(conversationId, (view) => {
        views.set(conversationId, view.items.map(toMessageView));
      }),
    );
  };

  if (parts.startOffline) client.setNetworkAvailable(false);
  await client.start();

  const snapshot = async (): Promise<ClientSnapshot> => {
    const state = await parts.storage.transaction("readonly", async (tx) => {
      const conversations = await tx.listConversations();
      const stored: Record<string, StoredMessage[]> = {};
      for (const conversation of conversations) {
        const records = await tx.getMessages(conversation.conversationId, { limit: SNAPSHOT_MESSAGE_LIMIT });
        stored[conversation.conversationId] = records.map((record) => ({
          seq: record.seq,
          clientMessageId: record.clientMessageId,
          senderId: record.senderId,
          text: record.text,
        }));
      }
      const outbox = await tx.listOutbox();
      const cursor = (await tx.getMeta("cursor")) ?? "";
      return { conversations, stored, outbox, cursor };
    });
    for (const conversation of state.conversations) watch(conversation.conversationId);
    for (const entry of state.outbox) watch(entry.conversationId);

    return {
      userId: parts.userId,
      connection: client.connectionState.kind,
      conversations: state.conversations.map(
        (record): ConversationView => ({
          conversationId: record.conversationId,
          kind: record.kind,
          title: record.title,
          memberIds: record.members.map((member) => member.userId),
          lastSeq: record.lastSeq,
          unreadCount: record.unreadCount,
          removed: record.removed,
          marks: Object.fromEntries(
            record.members.map((member) => [member.userId, { deliveredSeq: member.deliveredSeq, readSeq: member.readSeq }]),
          ),
        }),
      ),
      stored: state.stored,
      views: Object.fromEntries(views),
      outbox: state.outbox.map(
        (entry): OutboxView => ({
          clientMessageId: entry.clientMessageId,
          conversationId: entry.conversationId,
          text: entry.text,
          state: entry.state,
          ...(entry.failure ? { failureCode: entry.failure.code } : {}),
        }),
      ),
      cursor: state.cursor,
    };
  };

  return {
    userId: parts.userId,
    async send(conversationId, text) {
      const { clientMessageId } = await client.send(conversationId, text);
      watch(conversationId);
      return { clientMessageId };
    },
    async createDirect(otherUserId) {
      const conversation = await client.createDirectConversation(otherUserId);
      watch(conversation.conversationId);
      return conversation.conversationId;
    },
    async createGroup(title, memberIds) {
      const conversation = await client.createGroup({ title, memberIds });
      watch(conversation.conversationId);
      return conversation.conversationId;
    },
    async removeMembers(conversationId, userIds) {
      await client.removeMembers(conversationId, userIds);
    },
    async retry(clientMessageId) {
      await client.retry(clientMessageId);
    },
    async markRead(conversationId, seq) {
      await client.markRead(conversationId, seq);
    },
    async setNetworkAvailable(available) {
      client.setNetworkAvailable(available);
    },
    async syncNow() {
      await client.syncNow();
    },
    async background() {
      client.background();
    },
    async foreground() {
      client.foreground();
    },
    async wake(deadlineMs) {
      await client.wake({ deadlineMs });
    },
    snapshot,
    waitFor: (condition: WaitCondition, timeoutMs: number) => pollFor(snapshot, condition, timeoutMs),
    async events() {
      return [...events];
    },
    async close() {
      for (const stop of unwatch.values()) stop();
      unwatch.clear();
      stopStates();
      stopEvents();
      await client.close();
      await parts.storage.close();
    },
  };
}

/**
 * Returns a clock whose `now()` is the wall clock plus `offsetMs`; its
 * timers are the standard ones, so delays are real.
 */
export function offsetClock(offsetMs: number): Clock {
  if (!Number.isFinite(offsetMs)) throw new RangeError(`clockOffsetMs is ${offsetMs}; pass a finite number of milliseconds`);
  return {
    now: () => Date.now() + offsetMs,
    setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}

/** Records the SDK events scenarios check; receipts and conversation changes are left out as noise. */
function toClientEvent(event: ChatEvent): ClientEvent | undefined {
  const at = Date.now();
  switch (event.type) {
    case "message":
      return {
        type: "message",
        at,
        conversationId: event.message.conversationId,
        seq: event.message.seq,
        clientMessageId: event.message.clientMessageId,
        own: event.own,
      };
    case "resync":
      return { type: "resync", at, reason: event.reason };
    case "outbox-failed":
      return { type: "outbox-failed", at, clientMessageId: event.entry.clientMessageId, code: event.entry.failure?.code ?? "" };
    case "receipt":
    case "conversation":
      return undefined;
  }
}

function toMessageView(item: {
  clientMessageId: string;
  seq?: number | undefined;
  senderId: string;
  text: string;
  status: MessageView["status"];
}): MessageView {
  return {
    clientMessageId: item.clientMessageId,
    ...(item.seq === undefined ? {} : { seq: item.seq }),
    senderId: item.senderId,
    text: item.text,
    status: item.status,
  };
}
