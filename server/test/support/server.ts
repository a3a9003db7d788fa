/** Real servers on ephemeral ports with real SQLite files, and clients for every protocol. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ChatService, ConversationKind, ConversationService } from "@chatwire/gen";
import { mintToken, startServer, type RunningServer, type ServerOptions } from "../../src/index.js";
import { uuidV7 } from "../../src/ids.js";

export const SECRET = "test-secret-with-at-least-32-bytes!!";

export type Protocol = "connect-h2" | "connect-h1" | "grpc" | "grpc-web";
export const PROTOCOLS: Protocol[] = ["connect-h2", "connect-h1", "grpc", "grpc-web"];

export function tempDir(prefix = "chatwire-server-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function bearer(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

export function createTransport(protocol: Protocol, baseUrl: string, interceptors: Interceptor[] = []): Transport {
  // A short idle timeout lets test servers close without waiting for pooled h2 sessions.
  switch (protocol) {
    case "connect-h2":
      return createConnectTransport({ baseUrl, httpVersion: "2", interceptors, idleConnectionTimeoutMs: 500 });
    case "connect-h1":
      return createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors });
    case "grpc":
      return createGrpcTransport({ baseUrl, interceptors, idleConnectionTimeoutMs: 500 });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors });
  }
}

export interface UserClients {
  userId: string;
  token: string;
  chat: Client<typeof ChatService>;
  conversations: Client<typeof ConversationService>;
}

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  /** Clients for a user, over the given protocol (Connect over HTTP/2 by default). */
  as(userId: string, protocol?: Protocol, ttlSeconds?: number): Promise<UserClients>;
  close(): Promise<void>;
}

export async function startTestServer(options: ServerOptions = {}): Promise<TestServer> {
  const dir = tempDir();
  const server = await startServer({ port: 0, dataDir: dir.path, jwtSecret: SECRET, rateLimit: 0, ...options });
  return {
    server,
    url: server.url,
    dataDir: dir.path,
    async as(userId, protocol = "connect-h2", ttlSeconds = 3600) {
      const token = await mintToken({ secret: SECRET, userId, ttlSeconds });
      const transport = createTransport(protocol, server.url, [bearer(token)]);
      return {
        userId,
        token,
        chat: createClient(ChatService, transport),
        conversations: createClient(ConversationService, transport),
      };
    },
    async close() {
      await server.close();
      dir.remove();
    },
  };
}

/** Creates a direct conversation between two users and returns its id. */
export async function directConversation(from: UserClients, otherUserId: string): Promise<string> {
  const response = await from.conversations.createConversation({
    kind: ConversationKind.DIRECT,
    memberIds: [otherUserId],
  });
  return response.conversation?.conversationId ?? "";
}

export function send(from: UserClients, conversationId: string, text: string, clientMessageId = uuidV7()) {
  return from.chat.sendMessage({ conversationId, clientMessageId, text, deviceId: "test-device" });
}

/** Waits until `check` returns true, polling every 10 ms, or fails after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
