import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ChatService, ConversationService } from "@chatwire/gen";

/** RPC clients of one user over one HTTP/2 connection of its own. */
export interface UserConnection {
  chat: Client<typeof ChatService>;
  conversations: Client<typeof ConversationService>;
  /** Closes the HTTP/2 connection; calls still open fail. */
  close(): void;
}

/**
 * Opens a Connect (binary Protobuf) client over HTTP/2 for one user. Every
 * user gets its own session manager and so its own TCP connection, as
 * separate devices would.
 */
export function connectUser(baseUrl: string, token: string): UserConnection {
  const sessionManager = new Http2SessionManager(baseUrl);
  const authorize: Interceptor = (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "2",
    useBinaryFormat: true,
    sessionManager,
    interceptors: [authorize],
  });
  return {
    chat: createClient(ChatService, transport),
    conversations: createClient(ConversationService, transport),
    close: () => sessionManager.abort(),
  };
}
