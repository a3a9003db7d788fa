import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import type { HandlerContext, Transport } from "@connectrpc/connect";
import {
  ChatService,
  ConversationKind,
  ConversationSchema,
  ConversationService,
  ErrorDetailSchema,
  ErrorReason,
  EventSchema,
  MessageSchema,
} from "@chatwire/gen";
import type { Conversation, Event, Message, SubscribeResponse } from "@chatwire/gen";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SubscribeResponseSchema } from "@chatwire/gen";
import type { FakeClock } from "./fake-clock.js";

/** Names of the RPCs, for fault hooks and call counts. */
export type MethodName =
  | "SendMessage"
  | "GetHistory"
  | "Sync"
  | "Subscribe"
  | "Acknowledge"
  | "GetServerInfo"
  | "CreateConversation"
  | "GetConversation"
  | "ListConversations"
  | "AddMembers"
  | "RemoveMembers";

interface MemberState {
  deliveredSeq: number;
  readSeq: number;
  joinedAfterSeq: number;
}

interface ConversationState {
  id: string;
  kind: ConversationKind;
  title: string;
  members: Map<string, MemberState>;
  messages: Message[];
  createdAt: number;
  activityAt: number;
}

interface UserLog {
  events: Event[];
  /** Position of the oldest event still kept. */
  retainedFrom: number;
}

interface Fault {
  method: MethodName;
  remaining: number;
  code: Code;
  detail?: { reason: ErrorReason; retryAfterMs?: number };
  /** Run the handler (commit) and then fail, as when the response is lost. */
  afterCommit: boolean;
  /** Only calls whose request matches count. */
  match?: (request: never) => boolean;
}

export interface FakeServerOptions {
  heartbeatIntervalMs?: number;
  maxMessageBytes?: number;
  maxPageSize?: number;
  maxLongPollMs?: number;
  /** Conversations per ListConversations page when the request names no page size. Default: all on one page. */
  listPageSize?: number;
  /** Ignore SyncRequest.from_end, as a server older than that field does. */
  ignoreFromEnd?: boolean;
}

/**
 * An in-memory chatwire server for the core's unit tests, served through
 * Connect's router transport. It keeps the protocol's semantics (gapless
 * seqs, idempotent sends, a per-user event log with cursors, heartbeats on
 * the fake clock, membership checks) and has hooks to inject faults.
 */
export class FakeServer {
  readonly clock: FakeClock;
  readonly heartbeatIntervalMs: number;
  readonly maxMessageBytes: number;
  readonly maxPageSize: number;
  readonly maxLongPollMs: number;
  readonly listPageSize: number;
  readonly ignoreFromEnd: boolean;
  readonly transport: Transport;
  /** Every call received, in order. */
  readonly calls: { method: MethodName; userId: string; request: unknown }[] = [];

  readonly #conversations = new Map<string, ConversationState>();
  readonly #logs = new Map<string, UserLog>();
  readonly #sent = new Map<string, Message>();
  readonly #tokenVersions = new Map<string, number>();
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #faults: Fault[] = [];
  readonly #dropNext = new Map<string, number>();
  readonly #gates = new Map<MethodName, Promise<void>>();
  #stallNextStreams = 0;
  /** Streams opened so far; streams with an id up to #stalledUpTo send nothing more. */
  #streamCount = 0;
  #stalledUpTo = 0;
  #nextConversation = 1;
  #nextMessage = 1;

  constructor(clock: FakeClock, options: FakeServerOptions = {}) {
    this.clock = clock;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_000;
    this.maxMessageBytes = options.maxMessageBytes ?? 4_096;
    this.maxPageSize = options.maxPageSize ?? 100;
    this.maxLongPollMs = options.maxLongPollMs ?? 30_000;
    this.listPageSize = options.listPageSize ?? Number.POSITIVE_INFINITY;
    this.ignoreFromEnd = options.ignoreFromEnd ?? false;
    this.transport = createRouterTransport((router) => {
      router.service(ChatService, {
        sendMessage: (request, context) => this.#handle("SendMessage", context, request, (userId) => this.#sendMessage(userId, request)),
        getHistory: (request, context) => this.#handle("GetHistory", context, request, (userId) => this.#getHistory(userId, request)),
        sync: (request, context) => this.#handle("Sync", context, request, (userId) => this.#sync(userId, request, context)),
        subscribe: (request, context) => this.#subscribe(request, context),
        acknowledge: (request, context) => this.#handle("Acknowledge", context, request, (userId) => this.#acknowledge(userId, request)),
        getServerInfo: (request, context) =>
          this.#handle("GetServerInfo", context, request, async () => ({
            limits: {
              maxMessageBytes: this.maxMessageBytes,
              maxMembersPerConversation: 100,
              maxPageSize: this.maxPageSize,
              maxLongPollMs: this.maxLongPollMs,
              heartbeatIntervalMs: this.heartbeatIntervalMs,
              maxRequestsPerSecond: 1_000,
              eventRetentionSeconds: 86_400n,
            },
            serverVersion: "fake/0",
          })),
      });
      router.service(ConversationService, {
        createConversation: (request, context) =>
          this.#handle("CreateConversation", context, request, async (userId) => {
            const ids = [...new Set([userId, ...request.memberIds])];
            const existing =
              request.kind === ConversationKind.DIRECT
                ? [...this.#conversations.values()].find(
                    (c) => c.kind === ConversationKind.DIRECT && ids.every((id) => c.members.has(id)) && c.members.size === ids.length,
                  )
                : undefined;
            const state = existing ?? this.createConversation(ids, request.kind, request.title);
            return { conversation: this.#view(state, userId), existing: existing !== undefined };
          }),
        getConversation: (request, context) =>
          this.#handle("GetConversation", context, request, async (userId) => ({
            conversation: this.#view(this.#member(userId, request.conversationId), userId),
          })),
        listConversations: (request, context) =>
          this.#handle("ListConversations", context, request, async (userId) => {
            // The page token is the offset of the page in the list, so a list that changes between pages may repeat or skip one.
            const offset = request.pageToken === "" ? 0 : Number(request.pageToken);
            const size = request.pageSize || this.listPageSize;
            const all = [...this.#conversations.values()]
              .filter((c) => c.members.has(userId))
              .sort((a, b) => b.activityAt - a.activityAt);
            const page = all.slice(offset, offset + size);
            const next = offset + page.length;
            return { conversations: page.map((c) => this.#view(c, userId)), nextPageToken: next < all.length ? String(next) : "" };
          }),
        addMembers: (request, context) =>
          this.#handle("AddMembers", context, request, async (userId) => {
            const state = this.#member(userId, request.conversationId);
            for (const id of request.userIds) {
              if (!state.members.has(id)) state.members.set(id, { deliveredSeq: 0, readSeq: 0, joinedAfterSeq: state.messages.length });
            }
            this.#announce(state, []);
            return { conversation: this.#view(state, userId) };
          }),
        removeMembers: (request, context) =>
          this.#handle("RemoveMembers", context, request, async (userId) => {
            const state = this.#member(userId, request.conversationId);
            const removed = request.userIds.filter((id) => state.members.delete(id));
            this.#announce(state, removed);
            return { conversation: state.members.has(userId) ? this.#view(state, userId) : undefined };
          }),
      });
    });
  }

  // ---- test setup ------------------------------------------------------

  /** Returns the current valid token of `userId`. */
  tokenFor(userId: string): string {
    return `${userId}.${this.#tokenVersions.get(userId) ?? 1}`;
  }

  /** Makes every token issued so far for `userId` expired: calls and streams get TOKEN_EXPIRED. */
  expireTokens(userId: string): void {
    this.#tokenVersions.set(userId, (this.#tokenVersions.get(userId) ?? 1) + 1);
    this.#wake(userId);
  }

  /** Creates a conversation directly, announcing it to its members. */
  createConversation(memberIds: string[], kind = ConversationKind.GROUP, title = ""): ConversationState {
    const state: ConversationState = {
      id: `conv-${this.#nextConversation++}`,
      kind,
      title,
      members: new Map(memberIds.map((id) => [id, { deliveredSeq: 0, readSeq: 0, joinedAfterSeq: 0 }])),
      messages: [],
      createdAt: this.clock.now(),
      activityAt: this.clock.now(),
    };
    this.#conversations.set(state.id, state);
    this.#announce(state, []);
    return state;
  }

  /** Commits a message from `senderId` directly (another user's device). */
  post(senderId: string, conversationId: string, text: string, clientMessageId?: string): Message {
    const state = this.#conversations.get(conversationId);
    if (state === undefined) throw new Error(`no conversation ${conversationId}`);
    return this.#commit(state, senderId, "other-device", clientMessageId ?? `0190f000-0000-7000-8000-${String(this.#nextMessage).padStart(12, "0")}`, text);
  }

  /** Adds a member to a group directly, announcing the change to every member. */
  addMember(conversationId: string, userId: string): void {
    const state = this.#conversations.get(conversationId);
    if (state === undefined) throw new Error(`no conversation ${conversationId}`);
    state.members.set(userId, { deliveredSeq: 0, readSeq: 0, joinedAfterSeq: state.messages.length });
    this.#announce(state, []);
  }

  /** Raises a member's marks directly, as an Acknowledge from another device would. */
  acknowledgeAs(userId: string, conversationId: string, deliveredSeq: number, readSeq: number): void {
    void this.#acknowledge(userId, {
      deviceId: "other-device",
      cursor: "",
      marks: [{ conversationId, deliveredSeq: BigInt(deliveredSeq), readSeq: BigInt(readSeq) }],
    } as never);
  }

  /** Returns the stored messages of a conversation. */
  messages(conversationId: string): Message[] {
    return [...(this.#conversations.get(conversationId)?.messages ?? [])];
  }

  member(conversationId: string, userId: string): MemberState | undefined {
    return this.#conversations.get(conversationId)?.members.get(userId);
  }

  /** Last position in the user's log. */
  logEnd(userId: string): number {
    const log = this.#log(userId);
    return log.retainedFrom - 1 + log.events.length;
  }

  /** Number of calls of `method` received so far. */
  count(method: MethodName): number {
    return this.calls.filter((call) => call.method === method).length;
  }

  // ---- fault hooks -----------------------------------------------------

  /** Fails the next `count` calls of `method` with `code` (and an ErrorDetail reason, if given). */
  failNext(
    method: MethodName,
    count: number,
    code: Code,
    detail?: { reason: ErrorReason; retryAfterMs?: number },
    match?: (request: never) => boolean,
  ): void {
    this.#faults.push({ method, remaining: count, code, afterCommit: false, ...(detail ? { detail } : {}), ...(match ? { match } : {}) });
  }

  /** Makes calls of `method` wait before they run, until the returned function is called. */
  pause(method: MethodName): () => void {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.#gates.set(method, gate);
    return () => {
      if (this.#gates.get(method) === gate) this.#gates.delete(method);
      release();
    };
  }

  /** Lets the next `count` calls of `method` commit and then fails them with unavailable, as a lost response. */
  commitThenFail(method: MethodName, count = 1): void {
    this.#faults.push({ method, remaining: count, code: Code.Unavailable, afterCommit: true });
  }

  /** Makes the next `count` Subscribe streams send nothing at all (no heartbeat) until the client aborts them. */
  stallNextStreams(count: number): void {
    this.#stallNextStreams += count;
  }

  /** Open streams stop sending anything (a silently dead connection) until the client aborts them. */
  stallOpenStreams(): void {
    this.#stalledUpTo = this.#streamCount;
  }

  /** The next page or batch sent to `userId` leaves out its first event, which the client must see as a gap. */
  dropNextEvent(userId: string): void {
    this.#dropNext.set(userId, (this.#dropNext.get(userId) ?? 0) + 1);
  }

  /** Forgets every event of `userId`'s log so far: cursors before now get out_of_range CURSOR_EXPIRED. */
  expireLog(userId: string): void {
    const log = this.#log(userId);
    log.retainedFrom += log.events.length;
    log.events = [];
  }

  // ---- handlers --------------------------------------------------------

  async #handle<T>(method: MethodName, context: HandlerContext, request: unknown, run: (userId: string) => Promise<T>): Promise<T> {
    const userId = this.#authenticate(context);
    this.calls.push({ method, userId, request });
    const gate = this.#gates.get(method);
    if (gate !== undefined) await gate;
    const fault = this.#faults.find((f) => f.method === method && f.remaining > 0 && (f.match?.(request as never) ?? true));
    if (fault !== undefined) fault.remaining -= 1;
    if (fault !== undefined && !fault.afterCommit) throw faultError(fault);
    const result = await run(userId);
    if (fault !== undefined) throw faultError(fault);
    return result;
  }

  #authenticate(context: HandlerContext): string {
    const header = context.requestHeader.get("authorization") ?? "";
    const match = /^Bearer (.+)\.(\d+)$/.exec(header);
    if (match === null) throw error(Code.Unauthenticated, "missing or malformed bearer token", ErrorReason.TOKEN_INVALID);
    const [, userId, version] = match as unknown as [string, string, string];
    if (Number(version) !== (this.#tokenVersions.get(userId) ?? 1)) {
      throw error(Code.Unauthenticated, "token expired", ErrorReason.TOKEN_EXPIRED);
    }
    return userId;
  }

  #member(userId: string, conversationId: string): ConversationState {
    const state = this.#conversations.get(conversationId);
    if (state === undefined || !state.members.has(userId)) {
      throw error(Code.NotFound, `conversation ${conversationId} not found`, ErrorReason.CONVERSATION_NOT_FOUND);
    }
    return state;
  }

  async #sendMessage(userId: string, request: { conversationId: string; clientMessageId: string; text: string; deviceId: string }) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(request.clientMessageId)) {
      throw error(Code.InvalidArgument, "client_message_id is not a UUIDv7", ErrorReason.FIELD_INVALID);
    }
    const key = `${userId}\n${request.clientMessageId}`;
    const previous = this.#sent.get(key);
    if (previous !== undefined) {
      if (previous.conversationId !== request.conversationId || previous.text !== request.text) {
        throw error(Code.AlreadyExists, "client_message_id reused", ErrorReason.IDEMPOTENCY_KEY_REUSED);
      }
      return { message: previous, replayed: true };
    }
    const state = this.#member(userId, request.conversationId);
    const bytes = Buffer.byteLength(request.text, "utf8");
    if (bytes === 0) throw error(Code.InvalidArgument, "text is empty", ErrorReason.FIELD_INVALID);
    if (bytes > this.maxMessageBytes) {
      throw error(Code.InvalidArgument, `text is ${bytes} bytes; the limit is ${this.maxMessageBytes}`, ErrorReason.FIELD_TOO_LARGE);
    }
    return { message: this.#commit(state, userId, request.deviceId, request.clientMessageId, request.text), replayed: false };
  }

  #commit(state: ConversationState, senderId: string, deviceId: string, clientMessageId: string, text: string): Message {
    const message = create(MessageSchema, {
      conversationId: state.id,
      seq: BigInt(state.messages.length + 1),
      messageId: `msg-${this.#nextMessage++}`,
      senderId,
      senderDeviceId: deviceId,
      clientMessageId,
      text,
      createdAt: timestampFromMs(this.clock.now()),
    });
    state.messages.push(message);
    state.activityAt = this.clock.now();
    this.#sent.set(`${senderId}\n${clientMessageId}`, message);
    for (const memberId of state.members.keys()) {
      this.#append(memberId, create(EventSchema, { kind: { case: "message", value: { message } } }));
    }
    return message;
  }

  async #getHistory(userId: string, request: { conversationId: string; beforeSeq: bigint; limit: number }) {
    const state = this.#member(userId, request.conversationId);
    const floor = state.members.get(userId)?.joinedAfterSeq ?? 0;
    const before = request.beforeSeq === 0n ? Number.POSITIVE_INFINITY : Number(request.beforeSeq);
    const limit = Math.min(request.limit || this.maxPageSize, this.maxPageSize);
    const readable = state.messages.filter((m) => Number(m.seq) > floor && Number(m.seq) < before);
    const page = readable.slice(-limit);
    return { messages: page, hasMore: readable.length > page.length };
  }

  async #sync(userId: string, request: { cursor: string; limit: number; waitMs: number; fromEnd: boolean }, context: HandlerContext) {
    if (request.waitMs > this.maxLongPollMs) {
      throw error(Code.InvalidArgument, `wait_ms ${request.waitMs} is above ${this.maxLongPollMs}`, ErrorReason.FIELD_TOO_LARGE);
    }
    if (request.fromEnd && !this.ignoreFromEnd) {
      if (request.cursor !== "" || request.waitMs > 0) {
        throw error(Code.InvalidArgument, "from_end needs an empty cursor and wait_ms 0", ErrorReason.FIELD_INVALID);
      }
      return { events: [], nextCursor: cursorOf(this.logEnd(userId)), hasMore: false };
    }
    let after = this.#cursorPosition(userId, request.cursor);
    const limit = Math.min(request.limit || this.maxPageSize, this.maxPageSize);
    if (request.waitMs > 0 && this.logEnd(userId) <= after) {
      await this.#waitForEvent(userId, request.waitMs, context.signal);
      after = this.#cursorPosition(userId, request.cursor);
    }
    const { events, last } = this.#page(userId, after, limit);
    return { events, nextCursor: events.length === 0 ? request.cursor : cursorOf(last), hasMore: this.logEnd(userId) > last };
  }

  async *#subscribe(request: { cursor: string; deviceId: string }, context: HandlerContext): AsyncGenerator<MessageInitShape<typeof SubscribeResponseSchema>> {
    const userId = this.#authenticate(context);
    this.calls.push({ method: "Subscribe", userId, request });
    const fault = this.#faults.find((f) => f.method === "Subscribe" && f.remaining > 0);
    if (fault !== undefined) {
      fault.remaining -= 1;
      throw faultError(fault);
    }
    let after = this.#cursorPosition(userId, request.cursor);
    if (this.#stallNextStreams > 0) {
      this.#stallNextStreams -= 1;
      await aborted(context.signal);
      return;
    }
    const token = context.requestHeader.get("authorization");
    const streamId = ++this.#streamCount;
    const stalled = () => streamId <= this.#stalledUpTo;
    yield this.#heartbeat();
    for (;;) {
      if (context.signal.aborted) return;
      if (stalled()) {
        await aborted(context.signal);
        return;
      }
      if (`Bearer ${this.tokenFor(userId)}` !== token) {
        throw error(Code.Unauthenticated, "token expired", ErrorReason.TOKEN_EXPIRED);
      }
      if (this.logEnd(userId) > after) {
        const { events, last } = this.#page(userId, after, this.maxPageSize);
        after = last;
        yield { kind: { case: "batch", value: { events, cursor: cursorOf(last), hasMore: this.logEnd(userId) > last } } };
        continue;
      }
      const woke = await this.#waitForEvent(userId, this.heartbeatIntervalMs, context.signal);
      if (!woke && !context.signal.aborted && !stalled()) yield this.#heartbeat();
    }
  }

  #heartbeat(): MessageInitShape<typeof SubscribeResponseSchema> {
    return { kind: { case: "heartbeat", value: { intervalMs: this.heartbeatIntervalMs, serverTime: timestampFromMs(this.clock.now()) } } };
  }

  async #acknowledge(userId: string, request: { marks: { conversationId: string; deliveredSeq: bigint; readSeq: bigint }[] }) {
    const marks = [];
    for (const mark of request.marks) {
      const state = this.#member(userId, mark.conversationId);
      const member = state.members.get(userId)!;
      const read = Number(mark.readSeq);
      const delivered = Math.max(Number(mark.deliveredSeq), read);
      if (delivered > state.messages.length) {
        throw error(Code.InvalidArgument, `delivered_seq ${delivered} is above the last seq ${state.messages.length}`, ErrorReason.FIELD_INVALID);
      }
      const changed = read > member.readSeq || delivered > member.deliveredSeq;
      member.readSeq = Math.max(member.readSeq, read);
      member.deliveredSeq = Math.max(member.deliveredSeq, delivered);
      if (changed) {
        for (const memberId of state.members.keys()) {
          this.#append(memberId, create(EventSchema, {
            kind: {
              case: "receipt",
              value: { conversationId: state.id, userId, deliveredSeq: BigInt(member.deliveredSeq), readSeq: BigInt(member.readSeq) },
            },
          }));
        }
      }
      marks.push({ conversationId: state.id, deliveredSeq: BigInt(member.deliveredSeq), readSeq: BigInt(member.readSeq) });
    }
    return { marks };
  }

  // ---- log -------------------------------------------------------------

  #log(userId: string): UserLog {
    let log = this.#logs.get(userId);
    if (log === undefined) {
      log = { events: [], retainedFrom: 1 };
      this.#logs.set(userId, log);
    }
    return log;
  }

  #append(userId: string, event: Event): void {
    const log = this.#log(userId);
    event.position = BigInt(log.retainedFrom + log.events.length);
    log.events.push(event);
    this.#wake(userId);
  }

  #wake(userId: string): void {
    for (const wake of [...(this.#listeners.get(userId) ?? [])]) wake();
  }

  #cursorPosition(userId: string, cursor: string): number {
    const log = this.#log(userId);
    if (cursor === "") return log.retainedFrom - 1;
    const match = /^pos:(\d+)$/.exec(cursor);
    if (match === null) throw error(Code.InvalidArgument, "cursor was not issued by this server", ErrorReason.CURSOR_INVALID);
    const position = Number(match[1]);
    if (position < log.retainedFrom - 1) {
      throw error(Code.OutOfRange, "cursor expired", ErrorReason.CURSOR_EXPIRED);
    }
    return position;
  }

  #page(userId: string, after: number, limit: number): { events: Event[]; last: number } {
    const log = this.#log(userId);
    const start = after + 1 - log.retainedFrom;
    let events = log.events.slice(start, start + limit);
    const last = events.length === 0 ? after : Number(events[events.length - 1]!.position);
    const drops = this.#dropNext.get(userId) ?? 0;
    if (drops > 0 && events.length > 0) {
      this.#dropNext.set(userId, drops - 1);
      events = events.slice(1);
    }
    return { events, last };
  }

  /** Waits until an event is appended for `userId`, `timeoutMs` passes on the fake clock, or `signal` aborts. */
  #waitForEvent(userId: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      let set = this.#listeners.get(userId);
      if (set === undefined) {
        set = new Set();
        this.#listeners.set(userId, set);
      }
      const listeners = set;
      const finish = (woke: boolean) => {
        listeners.delete(wake);
        this.clock.clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve(woke);
      };
      const wake = () => finish(true);
      const onAbort = () => finish(false);
      const timer = this.clock.setTimeout(() => finish(false), timeoutMs);
      listeners.add(wake);
      signal.addEventListener("abort", onAbort);
    });
  }

  /** Announces the conversation's current state to its members and to the users just removed. */
  #announce(state: ConversationState, removed: string[]): void {
    state.activityAt = this.clock.now();
    for (const memberId of state.members.keys()) {
      this.#append(memberId, create(EventSchema, { kind: { case: "conversation", value: { conversation: this.#view(state, memberId), removed: false } } }));
    }
    for (const userId of removed) {
      this.#append(userId, create(EventSchema, { kind: { case: "conversation", value: { conversation: this.#view(state, userId), removed: true } } }));
    }
  }

  #view(state: ConversationState, viewer: string): Conversation {
    const readSeq = state.members.get(viewer)?.readSeq ?? 0;
    const floor = state.members.get(viewer)?.joinedAfterSeq ?? 0;
    const last = state.messages[state.messages.length - 1];
    return create(ConversationSchema, {
      conversationId: state.id,
      kind: state.kind,
      title: state.title,
      members: [...state.members.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([userId, m]) => ({
          userId,
          deliveredSeq: BigInt(m.deliveredSeq),
          readSeq: BigInt(m.readSeq),
          joinedAfterSeq: BigInt(m.joinedAfterSeq),
        })),
      lastSeq: BigInt(state.messages.length),
      createdAt: timestampFromMs(state.createdAt),
      unreadCount: BigInt(state.messages.filter((m) => Number(m.seq) > Math.max(readSeq, floor) && m.senderId !== viewer).length),
      ...(last !== undefined && Number(last.seq) > floor ? { lastMessage: last } : {}),
    });
  }
}

function cursorOf(position: number): string {
  return `pos:${position}`;
}

function error(code: Code, message: string, reason: ErrorReason, retryAfterMs = 0): ConnectError {
  return new ConnectError(message, code, undefined, [{ desc: ErrorDetailSchema, value: { reason, retryAfterMs } }]);
}

function faultError(fault: Fault): ConnectError {
  if (fault.detail === undefined) return new ConnectError(`injected ${fault.method} failure`, fault.code);
  return error(fault.code, `injected ${fault.method} failure`, fault.detail.reason, fault.detail.retryAfterMs ?? 0);
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

export type { SubscribeResponse };
