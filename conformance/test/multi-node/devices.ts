/**
 * Node SDK clients for the multi-node tests: one client per device, each
 * with its own SQLite file. A test watches each client through the SDK's
 * live views, so it can wait until every device shows every message, and
 * reads each file back once its client is closed.
 */
import { join } from "node:path";

import { createNodeChatClient, openSqliteStorage } from "@chatwire/node";
import type { ChatClient, ConversationSnapshot, MessageRecord, OutboxEntry } from "@chatwire/sdk-core";

/** Options of startDevice. */
export interface DeviceOptions {
  userId: string;
  /** Name of the device in messages and its file name, such as "ann-phone". */
  name: string;
  /** Server address: the load balancer or one node. */
  baseUrl: string;
  /** Folder of the device's SQLite file. */
  dir: string;
  token(userId: string): Promise<string>;
}

/** A running SDK client on one device. */
export interface Device {
  readonly userId: string;
  readonly name: string;
  readonly databasePath: string;
  readonly client: ChatClient;
  /** Shows `conversationId` in a live view from now on; snapshot() returns its latest contents. */
  watch(conversationId: string): void;
  /** The latest view of a watched conversation, or undefined before the first one. */
  snapshot(conversationId: string): ConversationSnapshot | undefined;
  /** Stops the client and closes its file; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Reconnect and resend backoff for the tests: a first retry after about
 * 100 ms and at most 1 s between retries. A client whose node died is then
 * back within a second or two, where the default backoff is 0.5 to 30 s.
 */
const FAST_RETRY = { backoffBaseMs: 100, backoffCapMs: 1_000, receiptDebounceMs: 200 } as const;

/** Message limit of a view, far above the count a test sends to one conversation. */
const VIEW_LIMIT = 100_000;

export async function startDevice(options: DeviceOptions): Promise<Device> {
  const databasePath = join(options.dir, `${options.name}.sqlite`);
  const client = createNodeChatClient({
    userId: options.userId,
    getToken: () => options.token(options.userId),
    baseUrl: options.baseUrl,
    databasePath,
    // A short idle timeout lets the servers stop soon after the clients close.
    transportOptions: { idleConnectionTimeoutMs: 1_000 },
    // synchronous=normal is enough because these tests kill servers, not clients.
    storageOptions: { synchronous: "normal" },
    ...FAST_RETRY,
  });
  await client.start();

  const snapshots = new Map<string, ConversationSnapshot>();
  const unwatch: Array<() => void> = [];
  let closing: Promise<void> | undefined;
  return {
    userId: options.userId,
    name: options.name,
    databasePath,
    client,
    watch(conversationId) {
      if (snapshots.has(conversationId)) return;
      unwatch.push(
        client.watchConversation(conversationId, (snapshot) => snapshots.set(conversationId, snapshot), { limit: VIEW_LIMIT }),
      );
    },
    snapshot: (conversationId) => snapshots.get(conversationId),
    close() {
      closing ??= (async () => {
        for (const stop of unwatch) stop();
        await client.close();
      })();
      return closing;
    },
  };
}

/** Counts of a watched conversation: messages the server confirmed, and messages still in the outbox. */
export function viewCounts(device: Device, conversationId: string): { confirmed: number; pending: number } {
  const items = device.snapshot(conversationId)?.items ?? [];
  const confirmed = items.filter((item) => item.seq !== undefined).length;
  return { confirmed, pending: items.length - confirmed };
}

/** The contents of a closed device's SQLite file. */
export interface StoredDevice {
  messages: Map<string, MessageRecord[]>;
  outbox: OutboxEntry[];
  deviceId: string | undefined;
  cursor: string | undefined;
  /** Position of the last applied event in the user's log. */
  position: number | undefined;
}

/** Opens a closed device's file and reads the given conversations, the outbox and the sync state. */
export async function readStoredDevice(databasePath: string, conversationIds: readonly string[]): Promise<StoredDevice> {
  const storage = openSqliteStorage(databasePath);
  try {
    return await storage.transaction("readonly", async (tx) => {
      const messages = new Map<string, MessageRecord[]>();
      for (const conversationId of conversationIds) {
        messages.set(conversationId, await tx.getMessages(conversationId, { limit: VIEW_LIMIT }));
      }
      const position = await tx.getMeta("position");
      return {
        messages,
        outbox: await tx.listOutbox(),
        deviceId: await tx.getMeta("deviceId"),
        cursor: await tx.getMeta("cursor"),
        position: position === undefined ? undefined : Number(position),
      };
    });
  } finally {
    await storage.close();
  }
}
