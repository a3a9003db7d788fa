/**
 * Builds a Node chatwire client the way an app would: @chatwire/node's
 * SQLite storage file and Connect transport plugged into sdk-core. Used in
 * the test process and in the host process alike.
 */
import type { Interceptor } from "@connectrpc/connect";
import { createChatClient, type ChatClientOptions, type ChatStorage, type TokenRequestContext } from "@chatwire/sdk-core";
import { createNodeTransport, openSqliteStorage } from "@chatwire/node";

import { startSdkDriver } from "./sdk-driver.js";
import type { HostInit } from "./host-protocol.js";
import type { RuntimeClient } from "./types.js";

/** Host options of a Node client plus the token callback. */
export interface NodeClientSpec extends HostInit {
  getToken(context: TokenRequestContext): Promise<string>;
}

/** Changes to the client an app would build, for runtimes that test a modified client. */
export interface NodeClientCustomization {
  /** Wraps the SQLite storage before the SDK uses it. Default: none. */
  wrapStorage?: (storage: ChatStorage) => ChatStorage;
  /** Connect interceptors added to the transport. Default: none. */
  interceptors?: Interceptor[];
}

/** Opens the storage file, starts the client and returns a RuntimeClient over it. */
export async function startNodeClient(
  spec: NodeClientSpec,
  customization: NodeClientCustomization = {},
): Promise<RuntimeClient> {
  const sqliteStorage = openSqliteStorage(spec.storagePath);
  const storage = customization.wrapStorage?.(sqliteStorage) ?? sqliteStorage;
  // A short idle timeout lets the server stop soon after the client closes.
  const transport = createNodeTransport({
    baseUrl: spec.baseUrl,
    idleConnectionTimeoutMs: 1_000,
    interceptors: customization.interceptors ?? [],
  });
  try {
    return await startSdkDriver({
      userId: spec.userId,
      storage,
      getToken: spec.getToken,
      startOffline: spec.startOffline ?? false,
      clockOffsetMs: spec.clockOffsetMs ?? 0,
      createClient: ({ getToken, clock }) =>
        createChatClient({
          ...(spec.tuning as Partial<ChatClientOptions>),
          transport,
          storage,
          userId: spec.userId,
          getToken,
          clock,
        }),
    });
  } catch (error) {
    await storage.close();
    throw error;
  }
}
