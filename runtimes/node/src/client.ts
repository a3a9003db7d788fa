import { createChatClient, type ChatClient, type ChatClientOptions } from "@chatwire/sdk-core";
import { openSqliteStorage, type SqliteStorageOptions } from "./storage/sqlite-storage.js";
import { createNodeTransport, type NodeTransportOptions } from "./transport.js";

/** Options of `createNodeChatClient`: the core's options, with a server address and a file in place of a transport and a storage. */
export interface NodeChatClientOptions extends Omit<ChatClientOptions, "transport" | "storage"> {
  /** The chatwire server's address, such as "http://127.0.0.1:8080". */
  baseUrl: string;
  /** The SQLite file for this user on this device; created when missing. */
  databasePath: string;
  /** Transport settings other than `baseUrl`. Default: Connect over HTTP/2. */
  transportOptions?: Omit<NodeTransportOptions, "baseUrl">;
  /** Storage settings. Default: every commit synced to disk. */
  storageOptions?: SqliteStorageOptions;
}

/**
 * Creates a chat client that talks to `baseUrl` over a Node transport and
 * keeps its state in the SQLite file at `databasePath`. The client owns the
 * file: `close()` stops the client and then closes the storage.
 */
export function createNodeChatClient(options: NodeChatClientOptions): ChatClient {
  const { baseUrl, databasePath, transportOptions, storageOptions, ...clientOptions } = options;
  const transport = createNodeTransport({ ...transportOptions, baseUrl });
  const storage = openSqliteStorage(databasePath, storageOptions);

  let client: ChatClient;
  try {
    client = createChatClient({ ...clientOptions, transport, storage });
  } catch (error) {
    void storage.close();
    throw error;
  }

  // Explicit delegation rather than a spread, because connectionState is a
  // live getter, and so that a new ChatClient member fails the build here.
  return {
    start: () => client.start(),
    send: (conversationId, text) => client.send(conversationId, text),
    retry: (clientMessageId) => client.retry(clientMessageId),
    discard: (clientMessageId) => client.discard(clientMessageId),
    markRead: (conversationId, seq) => client.markRead(conversationId, seq),
    createDirectConversation: (userId) => client.createDirectConversation(userId),
    createGroup: (groupOptions) => client.createGroup(groupOptions),
    addMembers: (conversationId, userIds) => client.addMembers(conversationId, userIds),
    removeMembers: (conversationId, userIds) => client.removeMembers(conversationId, userIds),
    listConversations: () => client.listConversations(),
    loadOlder: (conversationId) => client.loadOlder(conversationId),
    watchConversation: (conversationId, listener, watchOptions) =>
      client.watchConversation(conversationId, listener, watchOptions),
    watchConversations: (listener) => client.watchConversations(listener),
    onEvent: (listener) => client.onEvent(listener),
    get connectionState() {
      return client.connectionState;
    },
    onConnectionStateChange: (listener) => client.onConnectionStateChange(listener),
    syncNow: () => client.syncNow(),
    setNetworkAvailable: (online) => client.setNetworkAvailable(online),
    background: () => client.background(),
    foreground: () => client.foreground(),
    wake: (wakeOptions) => client.wake(wakeOptions),
    async close() {
      try {
        await client.close();
      } finally {
        await storage.close();
      }
    },
  };
}
