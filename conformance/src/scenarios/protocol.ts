/**
 * Direct protocol access for scenarios: the parts a scenario plays without
 * an SDK (other senders, a non-member probing, a check of what the server
 * stored). Each user gets Connect clients over HTTP/2 that carry its token.
 */
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  ChatService,
  ConversationKind,
  ConversationService,
  ErrorDetailSchema,
  type ErrorDetail,
  type Event,
  type Message,
} from "@chatwire/gen";
import { randomUUID } from "node:crypto";

/** Connect clients that act as one user. */
export interface ProtocolUser {
  readonly userId: string;
  readonly chat: Client<typeof ChatService>;
  readonly conversations: Client<typeof ConversationService>;
  /** Creates a group with the caller and `memberIds` and returns its id. */
  createGroup(title: string, memberIds: string[]): Promise<string>;
  /** Creates (or returns) the direct conversation with `otherUserId` and returns its id. */
  createDirect(otherUserId: string): Promise<string>;
  /** Commits one message with a fresh idempotency key and returns it. */
  send(conversationId: string, text: string): Promise<Message>;
  /** Reads every event of the caller's log after `cursor` with Sync, page by page. */
  syncAll(cursor?: string, deviceId?: string): Promise<{ events: Event[]; cursor: string; pages: number }>;
  /** Reads the whole history of a conversation, ascending seq. */
  history(conversationId: string): Promise<Message[]>;
}

/** Returns Connect clients for `userId` that authenticate with `getToken()`. */
export function protocolUser(baseUrl: string, userId: string, getToken: () => Promise<string>): ProtocolUser {
  const authenticate: Interceptor = (next) => async (request) => {
    request.header.set("Authorization", `Bearer ${await getToken()}`);
    return next(request);
  };
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "2",
    interceptors: [authenticate],
    // Idle sessions would otherwise keep the server's shutdown waiting.
    idleConnectionTimeoutMs: 1_000,
  });
  const chat = createClient(ChatService, transport);
  const conversations = createClient(ConversationService, transport);
  const deviceId = `probe-${userId.replace(/[^A-Za-z0-9_-]/g, "_")}`.slice(0, 64);

  return {
    userId,
    chat,
    conversations,
    async createGroup(title, memberIds) {
      const response = await conversations.createConversation({
        kind: ConversationKind.GROUP,
        title,
        memberIds,
        requestId: randomUUID(),
      });
      return requireConversationId(response.conversation?.conversationId, "createGroup");
    },
    async createDirect(otherUserId) {
      const response = await conversations.createConversation({
        kind: ConversationKind.DIRECT,
        memberIds: [otherUserId],
      });
      return requireConversationId(response.conversation?.conversationId, "createDirect");
    },
    async send(conversationId, text) {
      const response = await chat.sendMessage({
        conversationId,
        clientMessageId: uuidv7(),
        text,
        deviceId,
      });
      if (!response.message) throw new Error(`SendMessage to ${conversationId} returned no message`);
      return response.message;
    },
    async syncAll(cursor = "", syncDeviceId = deviceId) {
      const events: Event[] = [];
      let pages = 0;
      // Bounded: a log longer than this is a server that never reports the end.
      for (let guard = 0; guard < 10_000; guard++) {
        const page = await chat.sync({ cursor, deviceId: syncDeviceId });
        pages++;
        events.push(...page.events);
        cursor = page.nextCursor;
        if (!page.hasMore) return { events, cursor, pages };
      }
      throw new Error(`Sync for ${userId} still reported has_more after 10,000 pages`);
    },
    async history(conversationId) {
      const messages: Message[] = [];
      let beforeSeq = 0n;
      for (let guard = 0; guard < 10_000; guard++) {
        const page = await chat.getHistory({ conversationId, beforeSeq });
        messages.unshift(...page.messages);
        const oldest = page.messages[0];
        if (!page.hasMore || !oldest) return messages;
        beforeSeq = oldest.seq;
      }
      throw new Error(`GetHistory of ${conversationId} still reported has_more after 10,000 pages`);
    },
  };
}

function requireConversationId(id: string | undefined, call: string): string {
  if (!id) throw new Error(`${call} returned no conversation`);
  return id;
}

/** Returns a fresh UUIDv7 in canonical lowercase form (RFC 9562, section 5.7). */
export function uuidv7(now = Date.now()): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let ms = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The outcome of a call that a scenario expects to fail. */
export interface RejectedCall {
  code: Code;
  codeName: string;
  message: string;
  detail: ErrorDetail | undefined;
}

/** Runs `call` and returns its ConnectError; throws when the call succeeds. */
export async function expectRejected(what: string, call: () => Promise<unknown>): Promise<RejectedCall> {
  try {
    await call();
  } catch (error) {
    const connectError = ConnectError.from(error);
    return {
      code: connectError.code,
      codeName: codeName(connectError.code),
      message: connectError.rawMessage,
      detail: connectError.findDetails(ErrorDetailSchema)[0],
    };
  }
  throw new Error(`${what} succeeded; expected a Connect error`);
}

/** Returns the Connect code's protocol name ("not_found"). */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
