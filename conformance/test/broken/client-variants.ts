/**
 * Deliberately broken variants of the Node client, each with one defect
 * that the client scenarios must catch. A variant is the client an app
 * builds from @chatwire/node, changed only through the storage it gets and
 * the interceptors of its transport.
 *
 * - volatile-outbox: outbox entries live in the process's memory while the
 *   rest of the storage stays in the SQLite file, so `send()` resolves
 *   before anything durable is written and a kill loses the queue.
 * - nfc-storage: received message text is stored in Unicode normalization
 *   form C, so text sent in decomposed form (NFD) reads back with other
 *   bytes than the sender's.
 * - new-key-per-retry: a retried SendMessage carries a fresh
 *   client_message_id, so a retry after a lost response stores a second
 *   copy. S36 blocks every stream and sync, so the client must retry and
 *   the second copy is certain. S2 catches it only in runs where the retry
 *   reaches the server before the stream delivers the committed message.
 */
import { fileURLToPath } from "node:url";

import { isMessage } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { SendMessageRequestSchema, SendMessageResponseSchema } from "@chatwire/gen";
import type { ChatStorage, OutboxEntry, StorageTransaction } from "@chatwire/sdk-core";

import { createNodeRuntime, type NodeRuntimeOptions } from "../../src/runtimes/node.js";
import { startNodeClient, type NodeClientCustomization } from "../../src/runtimes/node-client.js";
import { uuidv7 } from "../../src/scenarios/protocol.js";
import { withOverrides } from "./override.js";

export const CLIENT_VARIANTS = ["volatile-outbox", "nfc-storage", "new-key-per-retry"] as const;
export type ClientVariant = (typeof CLIENT_VARIANTS)[number];

/** Returns the changes that turn the Node client into `variant`. */
export function clientVariantCustomization(variant: ClientVariant): NodeClientCustomization {
  switch (variant) {
    case "volatile-outbox":
      return { wrapStorage: volatileOutbox };
    case "nfc-storage":
      return { wrapStorage: nfcStorage };
    case "new-key-per-retry":
      return { interceptors: [newKeyPerRetry()] };
  }
}

/** Creates a Node runtime whose clients, in this process and in host processes, are `variant`. */
export function createClientVariantRuntime(variant: ClientVariant, options: NodeRuntimeOptions = {}) {
  const customization = clientVariantCustomization(variant);
  return createNodeRuntime({
    ...options,
    name: `node ${variant}`,
    startClient: (spec) => startNodeClient(spec, customization),
    hostScript: fileURLToPath(new URL("./client-variant-host.ts", import.meta.url)),
    hostArgs: [variant],
  });
}

/**
 * Keeps outbox entries in a Map of this process. Writes to it take effect
 * at once, outside the storage transaction, which is part of the defect.
 */
function volatileOutbox(storage: ChatStorage): ChatStorage {
  const entries = new Map<string, OutboxEntry>();
  const withMemoryOutbox = (tx: StorageTransaction): StorageTransaction =>
    withOverrides(tx, {
      async addOutbox(entry) {
        if (entries.has(entry.clientMessageId)) throw new Error(`outbox entry ${entry.clientMessageId} exists`);
        entries.set(entry.clientMessageId, { ...entry });
      },
      async getOutbox(clientMessageId) {
        const entry = entries.get(clientMessageId);
        return entry && { ...entry };
      },
      async listOutbox(conversationId) {
        return [...entries.values()]
          .filter((entry) => conversationId === undefined || entry.conversationId === conversationId)
          .map((entry) => ({ ...entry }));
      },
      async updateOutbox(entry) {
        if (!entries.has(entry.clientMessageId)) throw new Error(`outbox entry ${entry.clientMessageId} not found`);
        entries.set(entry.clientMessageId, { ...entry });
      },
      async deleteOutbox(clientMessageId) {
        return entries.delete(clientMessageId);
      },
    });
  return {
    transaction: (mode, run) => storage.transaction(mode, (tx) => run(withMemoryOutbox(tx))),
    close: () => storage.close(),
  };
}

/** Normalizes the text of every stored message to NFC. */
function nfcStorage(storage: ChatStorage): ChatStorage {
  return {
    transaction: (mode, run) =>
      storage.transaction(mode, (tx) =>
        run(
          withOverrides(tx, {
            putMessages: (records) => tx.putMessages(records.map((record) => ({ ...record, text: record.text.normalize("NFC") }))),
          }),
        ),
      ),
    close: () => storage.close(),
  };
}

/**
 * Sends the first attempt of a message with its own key and every retry
 * with a fresh one. The response is read back under the outbox's key, as a
 * client that replaced the key in its outbox would read it.
 */
function newKeyPerRetry(): Interceptor {
  const attempted = new Set<string>();
  return (next) => async (request) => {
    if (request.stream || !isMessage(request.message, SendMessageRequestSchema)) return next(request);
    const outboxKey = request.message.clientMessageId;
    if (!attempted.has(outboxKey)) {
      attempted.add(outboxKey);
      return next(request);
    }
    const retry = { ...request, message: { ...request.message, clientMessageId: uuidv7() } };
    const response = await next(retry);
    if (!response.stream && isMessage(response.message, SendMessageResponseSchema) && response.message.message) {
      response.message.message.clientMessageId = outboxKey;
    }
    return response;
  };
}
