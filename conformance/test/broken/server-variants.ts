/**
 * Deliberately broken variants of the reference server, each with one
 * defect that the conformance suites must catch. A variant is built only
 * from the server's public extension points (`decorateStore` and
 * `interceptors`), so the server itself carries no test switch.
 *
 * - dedupe-off: every SendMessage is stored as a new message, retries
 *   included. The store gets a fresh internal key for each request, and
 *   responses, history and events carry the request's key, with
 *   `replayed = false`.
 * - seq-gap: seq 2 is never used. Every seq of 2 or more leaves the server
 *   one higher (messages, marks, last_seq, joined_after_seq), and seqs in
 *   requests are mapped back.
 * - heartbeats-off: Subscribe streams carry batches only, never a
 *   heartbeat, not even the first one.
 * - cursor-back: a read from a cursor starts one event early the first
 *   time each (user, position) is read, so a client gets an event it
 *   already had again.
 * - membership-off: GetConversation and GetHistory skip the membership
 *   check. A non-member reads as the conversation's creator.
 * - receipts-lower, nfc-text, batch-cursor-lag and rate-global: see
 *   interceptor-variants.ts.
 * - none: the reference server unchanged, through the same launcher.
 */
import { clone, type DescMessage, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { ServerOptions, Store } from "@chatwire/server";

import { uuidv7 } from "../../src/scenarios/protocol.js";
import { batchCursorLag, nfcText, rateGlobal, receiptsLower } from "./interceptor-variants.js";
import { withOverrides } from "./override.js";

export const SERVER_VARIANTS = [
  "none",
  "dedupe-off",
  "seq-gap",
  "heartbeats-off",
  "cursor-back",
  "membership-off",
  "receipts-lower",
  "nfc-text",
  "batch-cursor-lag",
  "rate-global",
] as const;
export type ServerVariant = (typeof SERVER_VARIANTS)[number];

/** Default of ServerOptions.rateLimit, in requests per second per user. */
const DEFAULT_RATE_LIMIT = 100;

/**
 * Returns the server options that build `variant` on a server started with
 * `options` (rate-global reads its rate limit).
 */
export function serverVariantOptions(
  variant: ServerVariant,
  options: Pick<ServerOptions, "rateLimit"> = {},
): Pick<ServerOptions, "decorateStore" | "interceptors"> {
  switch (variant) {
    case "none":
      return {};
    case "dedupe-off":
      return { decorateStore: (store) => withOverrides(store, dedupeOff(store)) };
    case "seq-gap":
      return { interceptors: [seqGap()] };
    case "heartbeats-off":
      return { interceptors: [heartbeatsOff()] };
    case "cursor-back":
      return { decorateStore: (store) => withOverrides(store, cursorBack(store)) };
    case "membership-off":
      return { decorateStore: (store) => withOverrides(store, membershipOff(store)) };
    case "receipts-lower":
      return { interceptors: [receiptsLower()] };
    case "nfc-text":
      return { interceptors: [nfcText()] };
    case "batch-cursor-lag":
      return { interceptors: [batchCursorLag()] };
    case "rate-global":
      return { interceptors: [rateGlobal(options.rateLimit ?? DEFAULT_RATE_LIMIT)] };
  }
}

function dedupeOff(store: Store): Partial<Store> {
  // Internal key -> the key the client sent, so that every copy reads back
  // with the client's key, as on a server without the unique check.
  const requestKeys = new Map<string, string>();
  const restore = <T extends { clientMessageId: string }>(message: T): T => {
    const requestKey = requestKeys.get(message.clientMessageId);
    return requestKey === undefined ? message : { ...message, clientMessageId: requestKey };
  };
  return {
    async sendMessage(input) {
      const internalKey = uuidv7();
      requestKeys.set(internalKey, input.clientMessageId);
      const { message } = await store.sendMessage({ ...input, clientMessageId: internalKey });
      return { message: restore(message), replayed: false };
    },
    async getHistory(viewerId, conversationId, page) {
      const history = await store.getHistory(viewerId, conversationId, page);
      return { ...history, messages: history.messages.map(restore) };
    },
    async readEvents(userId, afterPosition, limit) {
      const events = await store.readEvents(userId, afterPosition, limit);
      return events.map((event) => {
        if (event.kind.case !== "message" || event.kind.value.message === undefined) return event;
        const value = { ...event.kind.value, message: restore(event.kind.value.message) };
        return { ...event, kind: { case: "message" as const, value } };
      });
    },
  };
}

function cursorBack(store: Store): Partial<Store> {
  const rewound = new Set<string>();
  return {
    async readEvents(userId, afterPosition, limit) {
      const key = `${userId}\n${afterPosition}`;
      if (afterPosition === 0 || rewound.has(key)) return store.readEvents(userId, afterPosition, limit);
      rewound.add(key);
      return store.readEvents(userId, afterPosition - 1, limit);
    },
  };
}

function membershipOff(store: Store): Partial<Store> {
  const creators = new Map<string, string>();
  const asCreatorWhenDenied = async <T>(viewerId: string, conversationId: string, read: (viewer: string) => Promise<T>) => {
    try {
      return await read(viewerId);
    } catch (error) {
      const creator = creators.get(conversationId);
      if (creator === undefined || ConnectError.from(error).code !== Code.NotFound) throw error;
      return read(creator);
    }
  };
  return {
    async createConversation(input) {
      const created = await store.createConversation(input);
      if (!creators.has(created.conversation.conversationId)) {
        creators.set(created.conversation.conversationId, input.creatorId);
      }
      return created;
    },
    getConversation: (viewerId, conversationId) =>
      asCreatorWhenDenied(viewerId, conversationId, (viewer) => store.getConversation(viewer, conversationId)),
    getHistory: (viewerId, conversationId, page) =>
      asCreatorWhenDenied(viewerId, conversationId, (viewer) => store.getHistory(viewer, conversationId, page)),
  };
}

function heartbeatsOff(): Interceptor {
  return (next) => async (request) => {
    const response = await next(request);
    if (!response.stream || request.method.name !== "Subscribe") return response;
    const frames = response.message as AsyncIterable<{ kind: { case: string | undefined } }>;
    return {
      ...response,
      message: (async function* withoutHeartbeats() {
        for await (const frame of frames) {
          if (frame.kind.case !== "heartbeat") yield frame;
        }
      })(),
    } as typeof response;
  };
}

/** The seq the variant leaves out. */
const MISSING_SEQ = 2n;
/** Fields that carry a conversation seq, in every message of the protocol. */
const SEQ_FIELDS = new Set(["seq", "lastSeq", "deliveredSeq", "readSeq", "joinedAfterSeq", "beforeSeq"]);

function seqGap(): Interceptor {
  const outward = (seq: bigint) => (seq >= MISSING_SEQ ? seq + 1n : seq);
  // A mark at the missing seq means the message before it; a before_seq there means the same bound.
  const inward = (seq: bigint, field: string) => {
    if (seq > MISSING_SEQ) return seq - 1n;
    if (seq === MISSING_SEQ && field !== "beforeSeq") return seq - 1n;
    return seq;
  };
  return (next) => async (request) => {
    if (!request.stream) {
      const copy = clone(request.method.input, request.message as Message);
      mapSeqs(copy, inward);
      request = { ...request, message: copy };
    }
    const response = await next(request);
    const output = request.method.output as DescMessage;
    if (!response.stream) {
      const copy = clone(output, response.message as Message);
      mapSeqs(copy, outward);
      return { ...response, message: copy } as typeof response;
    }
    const frames = response.message as AsyncIterable<Message>;
    return {
      ...response,
      message: (async function* shifted() {
        for await (const frame of frames) {
          const copy = clone(output, frame);
          mapSeqs(copy, outward);
          yield copy;
        }
      })(),
    } as typeof response;
  };
}

/** Rewrites every seq field of a protobuf message tree in place. */
function mapSeqs(value: unknown, map: (seq: bigint, field: string) => bigint): void {
  if (Array.isArray(value)) {
    for (const item of value) mapSeqs(item, map);
    return;
  }
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return;
  const record = value as Record<string, unknown>;
  for (const [field, inner] of Object.entries(record)) {
    if (SEQ_FIELDS.has(field) && typeof inner === "bigint") record[field] = map(inner, field);
    else mapSeqs(inner, map);
  }
}
