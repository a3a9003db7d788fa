/** Small helpers of the demo: the server's limits and reading an outbox file. */
import { createClient } from "@connectrpc/connect";
import { ChatService } from "@chatwire/gen";

import { createNodeTransport, openSqliteStorage } from "../src/index.js";

/** The limits the demo needs, from GetServerInfo. */
export interface DemoLimits {
  maxMessageBytes: number;
}

/** Calls GetServerInfo once. */
export async function serverLimits(baseUrl: string, token: string): Promise<DemoLimits> {
  const transport = createNodeTransport({ baseUrl, idleConnectionTimeoutMs: 500 });
  const chat = createClient(ChatService, transport);
  const info = await chat.getServerInfo(
    {},
    { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) },
  );
  if (!info.limits) throw new Error(`GetServerInfo at ${baseUrl} returned no limits`);
  return { maxMessageBytes: info.limits.maxMessageBytes };
}

/** Reads the outbox of a client's SQLite file, the way the client will after a restart. */
export async function readOutboxFile(path: string): Promise<{ clientMessageId: string; text: string }[]> {
  const storage = openSqliteStorage(path);
  try {
    const entries = await storage.transaction("readonly", (tx) => tx.listOutbox());
    return entries.map((entry) => ({ clientMessageId: entry.clientMessageId, text: entry.text }));
  } finally {
    await storage.close();
  }
}
