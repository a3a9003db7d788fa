import { Code, createClient } from "@connectrpc/connect";
import { ChatService, ConversationService } from "@chatwire/gen";
import type { ChatClient, WatchConversationOptions } from "./chat-client.js";
import { TokenSource, withBearerToken, withTokenRefresh } from "./connection/auth.js";
import { callWithDeadline } from "./connection/call.js";
import { ConnectionLoop } from "./connection/connection-loop.js";
import { ConnectionStateHolder } from "./connection/state.js";
import { ConversationApi } from "./conversations.js";
import { ChatError } from "./errors/chat-error.js";
import { classifyFailure } from "./errors/classify.js";
import type { ChatEvent, ChatEventListener } from "./events.js";
import { createIdGenerator } from "./ids.js";
import { Lifecycle } from "./lifecycle/lifecycle.js";
import { resolveTuning, silentLogger, systemClock } from "./options.js";
import type { ChatClientOptions } from "./options.js";
import { Outbox } from "./outbox/outbox.js";
import { Receipts } from "./receipts/receipts.js";
import { ServerInfoCache } from "./server-info.js";
import type { AppliedPage } from "./sync/apply-events.js";
import { ensureOlderMessages } from "./sync/history.js";
import { mergeConversation } from "./sync/records.js";
import { SyncEngine } from "./sync/sync-engine.js";
import { validateMessageText } from "./text.js";
import { defaultViewLimit, Views } from "./view/views.js";

/** Creates a chat client. Nothing runs until `start()`. */
export function createChatClient(options: ChatClientOptions): ChatClient {
  checkOptions(options);
  const tuning = resolveTuning(options);
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const { storage, userId } = options;
  const ids = createIdGenerator(clock, random);

  const tokens = new TokenSource(options.getToken, logger);
  const transport = withBearerToken(options.transport, tokens);
  const chat = createClient(ChatService, transport);
  const conversationClient = createClient(ConversationService, transport);
  const serverInfo = new ServerInfoCache(chat);
  const state = new ConnectionStateHolder(logger);
  const views = new Views(storage, userId, logger);
  const lifetime = new AbortController();

  let deviceId: string | undefined;
  const getDeviceId = (): string => {
    if (deviceId === undefined) throw notStarted("this call");
    return deviceId;
  };

  const eventListeners = new Set<ChatEventListener>();
  const emit = (events: readonly ChatEvent[]) => {
    for (const event of events) {
      for (const listener of [...eventListeners]) {
        try {
          listener(event);
        } catch (error) {
          logger.error({ err: error, event: event.type }, "event listener threw; the client carries on");
        }
      }
    }
  };
  const onCommitted = (conversationIds: readonly string[], events: readonly ChatEvent[]) => {
    views.notify(conversationIds);
    emit(events);
  };

  /** Runs a unary call with the token, the request deadline and the client's lifetime. */
  const call = <T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> =>
    withTokenRefresh(tokens, () => callWithDeadline(clock, lifetime.signal, tuning.requestTimeoutMs, what, run)).catch(
      (error: unknown) => {
        throw ChatError.from(error);
      },
    );

  const conversations = new ConversationApi({
    storage,
    conversations: conversationClient,
    serverInfo,
    userId,
    newId: () => ids.uuidv7(),
    call,
    onCommitted,
  });

  // A conversation the server rejected for good (not_found) is not fetched again by this client,
  // so each page that mentions it does not cost a call.
  const fetchedConversations = new Set<string>();
  const fetchUnknownConversation = (conversationId: string) => {
    if (fetchedConversations.has(conversationId)) return;
    fetchedConversations.add(conversationId);
    call("GetConversation", (signal) => conversationClient.getConversation({ conversationId }, { signal }))
      .then(async (response) => {
        const remote = response.conversation;
        if (remote === undefined) return;
        await storage.transaction("readwrite", async (tx) => {
          const local = await tx.getConversation(conversationId);
          await tx.putConversation(mergeConversation(local, remote, local?.removed ?? false));
        });
        views.notify([conversationId]);
      })
      .catch((error: unknown) => {
        logger.warn({ err: error, conversationId }, "fetching a conversation seen in sync failed");
        if (classifyFailure(ChatError.from(error), false).kind !== "park") fetchedConversations.delete(conversationId);
      });
  };

  const receipts = new Receipts({
    storage, chat, tokens, clock, random, tuning, logger, userId, deviceId: getDeviceId,
    onCommitted: (ids) => views.notify(ids),
  });

  const engine = new SyncEngine({
    storage, chat, conversations: conversationClient, serverInfo, clock, tuning, logger, userId, deviceId: getDeviceId,
    onApplied: (page: AppliedPage) => {
      views.notify(page.changedConversations);
      emit(page.events);
      receipts.noteApplied(page.delivered, page.cursorAdvanced);
      for (const id of page.unknownConversations) fetchUnknownConversation(id);
    },
    onResync: (reason) => {
      views.notifyAll();
      emit([{ type: "resync", reason }]);
    },
  });

  const outbox = new Outbox({
    storage, chat, tokens, clock, random, tuning, logger, deviceId: getDeviceId, onCommitted,
  });

  const loop = new ConnectionLoop({
    engine, state, tokens, clock, random, tuning, logger,
    prepare: async (signal) => {
      try {
        // No token refresh here: the catch-up that follows refreshes a rejected token once for the whole attempt.
        await serverInfo.load((fetch) => callWithDeadline(clock, signal, tuning.requestTimeoutMs, "GetServerInfo", fetch));
      } catch (error) {
        if (!signal.aborted) logger.warn({ err: error }, "GetServerInfo failed; limits are checked by the server only");
      }
    },
    onReachable: () => outbox.kick(),
  });

  state.subscribe((next) => {
    // Sends held back by a failure go out as soon as the connection is back.
    if (next.kind === "connected") outbox.retryNow();
  });

  const lifecycle = new Lifecycle({ loop, outbox, receipts, engine, state, tokens, clock, logger }, options.online ?? true);

  let starting: Promise<void> | undefined;
  const loadingOlder = new Map<string, Promise<void>>();
  const ensureStarted = (what: string) => {
    if (lifecycle.closed) throw new ChatError(Code.FailedPrecondition, `${what} was called after close(); create a new client`);
    if (deviceId === undefined) throw notStarted(what);
  };

  const client: ChatClient = {
    start() {
      if (lifecycle.closed) return Promise.reject(new ChatError(Code.FailedPrecondition, "start() was called after close(); create a new client"));
      starting ??= (async () => {
        deviceId = await storage.transaction("readwrite", async (tx) => {
          const owner = await tx.getMeta("userId");
          if (owner !== undefined && owner !== userId) {
            throw new ChatError(
              Code.FailedPrecondition,
              `storage belongs to user "${owner}", not "${userId}"; give each user their own storage`,
            );
          }
          if (owner === undefined) await tx.setMeta("userId", userId);
          let id = await tx.getMeta("deviceId");
          if (id === undefined) {
            id = ids.deviceId();
            await tx.setMeta("deviceId", id);
          }
          return id;
        });
        logger.info({ userId, deviceId }, "chat client started");
        lifecycle.markStarted();
      })();
      return starting;
    },

    async send(conversationId, text) {
      ensureStarted("send()");
      if (typeof conversationId !== "string" || conversationId === "") {
        throw new ChatError(Code.InvalidArgument, "conversationId is empty; pass the id of a conversation the user belongs to");
      }
      validateMessageText(text, serverInfo.limits?.maxMessageBytes);
      const clientMessageId = ids.uuidv7();
      await outbox.add({ clientMessageId, conversationId, text, createdAt: clock.now(), state: "queued", attempts: 0 });
      return { clientMessageId };
    },

    async retry(clientMessageId) {
      ensureStarted("retry()");
      await outbox.retry(clientMessageId);
    },

    async discard(clientMessageId) {
      ensureStarted("discard()");
      await outbox.discard(clientMessageId);
    },

    async markRead(conversationId, seq) {
      ensureStarted("markRead()");
      await receipts.markRead(conversationId, seq);
    },

    createDirectConversation: (otherUserId) => conversations.createDirectConversation(otherUserId),
    createGroup: (groupOptions) => conversations.createGroup(groupOptions),
    addMembers: (conversationId, userIds) => conversations.addMembers(conversationId, userIds),
    removeMembers: (conversationId, userIds) => conversations.removeMembers(conversationId, userIds),
    listConversations: () => conversations.listConversations(),

    loadOlder(conversationId) {
      // One load per conversation at a time: each one starts where the previous one grew the window.
      const previous = loadingOlder.get(conversationId) ?? Promise.resolve();
      const next = previous
        .catch(() => undefined)
        .then(async () => {
          await ensureOlderMessages(
            storage,
            (run) => call("GetHistory", run),
            chat,
            userId,
            conversationId,
            views.windowSize(conversationId),
            tuning.pageSize,
          );
          views.growWindow(conversationId, tuning.pageSize);
        });
      loadingOlder.set(conversationId, next);
      const clear = () => {
        if (loadingOlder.get(conversationId) === next) loadingOlder.delete(conversationId);
      };
      next.then(clear, clear);
      return next;
    },

    watchConversation(conversationId, listener, watchOptions?: WatchConversationOptions) {
      const limit = watchOptions?.limit ?? defaultViewLimit;
      if (!Number.isSafeInteger(limit) || limit <= 0) {
        throw new ChatError(Code.InvalidArgument, `limit is ${limit}; pass a whole number of messages above 0`);
      }
      return views.watchConversation(conversationId, listener, limit);
    },
    watchConversations: (listener) => views.watchConversations(listener),

    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },

    get connectionState() {
      return state.current;
    },
    onConnectionStateChange: (listener) => state.subscribe(listener),

    async syncNow() {
      ensureStarted("syncNow()");
      loop.retryNow();
      outbox.retryNow();
      await withTokenRefresh(tokens, () => engine.catchUp(lifetime.signal)).catch((error: unknown) => {
        throw ChatError.from(error);
      });
    },

    setNetworkAvailable: (online) => lifecycle.setNetworkAvailable(online),
    background: () => lifecycle.background(),
    foreground: () => lifecycle.foreground(),
    wake: ({ deadlineMs }) => lifecycle.wake(deadlineMs),

    async close() {
      lifetime.abort(new ChatError(Code.Canceled, "client closed"));
      await lifecycle.close();
    },
  };
  return client;
}

function notStarted(what: string): ChatError {
  return new ChatError(Code.FailedPrecondition, `${what} needs a started client; await start() first`);
}

function checkOptions(options: ChatClientOptions): void {
  if (options === null || typeof options !== "object") throw new TypeError("createChatClient needs an options object");
  if (typeof options.userId !== "string" || options.userId === "") {
    throw new TypeError("options.userId is empty; pass the signed-in user's id");
  }
  if (typeof options.getToken !== "function") throw new TypeError("options.getToken must be a function that returns a JWT");
  if (options.transport === undefined) throw new TypeError("options.transport is missing; pass the runtime package's transport");
  if (options.storage === undefined) throw new TypeError("options.storage is missing; pass a ChatStorage adapter");
}
