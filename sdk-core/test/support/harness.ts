import { createChatClient } from "../../src/client.js";
import type { ChatClient } from "../../src/chat-client.js";
import type { ConnectionState } from "../../src/connection/state.js";
import type { ChatEvent } from "../../src/events.js";
import type { ChatClientOptions, Logger } from "../../src/options.js";
import { createMemoryStorage } from "../../src/storage/memory.js";
import type { ChatStorage } from "../../src/storage/types.js";
import { FakeClock, seededRandom } from "./fake-clock.js";
import { FakeServer } from "./fake-server.js";
import type { FakeServerOptions } from "./fake-server.js";

/** Returns a logger that keeps every line, so tests can check what was logged. */
export function recordingLogger(): Logger & { lines: { level: string; message: string; fields: unknown }[] } {
  const lines: { level: string; message: string; fields: unknown }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export interface TestClient {
  client: ChatClient;
  storage: ChatStorage;
  states: [ConnectionState, ConnectionState][];
  events: ChatEvent[];
  tokenRequests: string[];
}

/** Creates a client for `userId` against `server`, recording its state changes, events and token requests. */
export function makeClient(
  server: FakeServer,
  userId: string,
  overrides: Partial<ChatClientOptions> = {},
): TestClient {
  const storage = overrides.storage ?? createMemoryStorage();
  const tokenRequests: string[] = [];
  const client = createChatClient({
    transport: server.transport,
    storage,
    userId,
    getToken: async ({ reason }) => {
      tokenRequests.push(reason);
      return server.tokenFor(userId);
    },
    clock: server.clock,
    random: seededRandom(userId.length),
    ...overrides,
  });
  const states: [ConnectionState, ConnectionState][] = [];
  client.onConnectionStateChange((next, previous) => states.push([next, previous]));
  const events: ChatEvent[] = [];
  client.onEvent((event) => events.push(event));
  return { client, storage, states, events, tokenRequests };
}

/** Creates a fake clock and a server with a group conversation of alice and bob. */
export function setup(options: FakeServerOptions = {}) {
  const clock = new FakeClock();
  const server = new FakeServer(clock, options);
  const conversation = server.createConversation(["alice", "bob"]);
  return { clock, server, conversationId: conversation.id };
}

/** Reads the stored messages of a conversation. */
export function storedMessages(storage: ChatStorage, conversationId: string) {
  return storage.transaction("readonly", (tx) => tx.getMessages(conversationId, { limit: 100_000 }));
}

/** Reads the outbox. */
export function storedOutbox(storage: ChatStorage) {
  return storage.transaction("readonly", (tx) => tx.listOutbox());
}

export { FakeClock, FakeServer };
