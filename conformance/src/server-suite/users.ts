/**
 * The users a case creates: unique ids for the run and clients over the
 * case's protocol that carry the user's token and the case's abort signal.
 */
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import type { DescService } from "@bufbuild/protobuf";
import { ChatService, ConversationKind, ConversationService, type Event } from "@chatwire/gen";

import { uuidv7 } from "../scenarios/protocol.js";
import type { WireProtocol } from "../report/types.js";
import type { TokenMinter } from "./tokens.js";
import { bearerInterceptor, createShapedTransport, DEFAULT_SHAPES, rateLimitRetryInterceptor } from "./transports.js";
import type { SuiteUser, UserOptions } from "./types.js";

const LABEL = /^[a-z0-9-]{1,16}$/;
/** Sync pages a helper reads before it reports a server that never reports the end. */
const MAX_SYNC_PAGES = 10_000;

/** Settings shared by every user of one case. */
export interface UserFactoryOptions {
  baseUrl: string;
  protocol: WireProtocol;
  /** Prefix unique to the case on this protocol, such as "sv1a2b3c4d.7.grpc". */
  idPrefix: string;
  tokens: TokenMinter;
  signal: AbortSignal;
}

/** Returns a function that creates the users of one case. */
export function createUserFactory(factory: UserFactoryOptions): (label: string, options?: UserOptions) => SuiteUser {
  const taken = new Set<string>();
  return (label, options = {}) => {
    if (!LABEL.test(label)) throw new RangeError(`user label ${JSON.stringify(label)} must be 1 to 16 characters of [a-z0-9-]`);
    if (taken.has(label)) throw new RangeError(`user label ${JSON.stringify(label)} is already used in this case`);
    taken.add(label);
    return createSuiteUser(factory, `${factory.idPrefix}.${label}`, options);
  };
}

function createSuiteUser(factory: UserFactoryOptions, userId: string, options: UserOptions): SuiteUser {
  const token = () => factory.tokens.token(userId);
  const fixed = options.fixedToken;
  const interceptors: Interceptor[] = [bearerInterceptor(() => (fixed === undefined ? token() : Promise.resolve(fixed)))];
  if (options.retryRateLimited !== false) interceptors.push(rateLimitRetryInterceptor(factory.signal));
  const transport = createShapedTransport(factory.baseUrl, DEFAULT_SHAPES[factory.protocol], interceptors);
  const chat = withSignal(createClient(ChatService, transport), factory.signal);
  const conversations = withSignal(createClient(ConversationService, transport), factory.signal);
  const deviceId = "suite-device";

  return {
    userId,
    deviceId,
    chat,
    conversations,
    token,
    async createGroup(memberIds, title = "suite group") {
      const response = await conversations.createConversation({
        kind: ConversationKind.GROUP,
        memberIds: [...memberIds],
        title,
        requestId: uuidv7(),
      });
      return requireId(response.conversation?.conversationId, `CreateConversation (group) by ${userId}`);
    },
    async createDirect(otherUserId) {
      const response = await conversations.createConversation({ kind: ConversationKind.DIRECT, memberIds: [otherUserId] });
      return requireId(response.conversation?.conversationId, `CreateConversation (direct) by ${userId}`);
    },
    send(conversationId, text, clientMessageId = uuidv7()) {
      return chat.sendMessage({ conversationId, clientMessageId, text, deviceId });
    },
    async syncAll(cursor = "", limit = 0) {
      const events: Event[] = [];
      for (let pages = 1; pages <= MAX_SYNC_PAGES; pages++) {
        const page = await chat.sync({ cursor, deviceId, limit });
        events.push(...page.events);
        cursor = page.nextCursor;
        if (!page.hasMore) return { events, cursor, pages };
      }
      throw new Error(`Sync for ${userId} still reported has_more after ${MAX_SYNC_PAGES} pages`);
    },
  };
}

function requireId(id: string | undefined, call: string): string {
  if (id === undefined || id === "") throw new Error(`${call} returned no conversation id`);
  return id;
}

/**
 * Wraps a client so that every call carries `signal`, combined with a
 * signal the caller passes, so a timed-out case cancels its calls.
 */
function withSignal<S extends DescService>(client: Client<S>, signal: AbortSignal): Client<S> {
  return new Proxy(client, {
    get(target, property, receiver) {
      const method: unknown = Reflect.get(target, property, receiver);
      if (typeof method !== "function") return method;
      return (request: unknown, callOptions: { signal?: AbortSignal } = {}) => {
        const combined = callOptions.signal === undefined ? signal : AbortSignal.any([signal, callOptions.signal]);
        return (method as (request: unknown, options: unknown) => unknown).call(target, request, { ...callOptions, signal: combined });
      };
    },
  });
}
