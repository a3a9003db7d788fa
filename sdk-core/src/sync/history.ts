import type { Client } from "@connectrpc/connect";
import type { ChatService } from "@chatwire/gen";
import type { ChatStorage } from "../storage/types.js";
import { findMember, placeholderConversation, toMessageRecord } from "./records.js";

/**
 * Makes sure storage has up to `pageSize` messages just below the oldest of
 * the newest `windowSize` stored messages (what a view shows now), fetching a
 * page of GetHistory when the stored ones are fewer or have holes. Resolves
 * with the number of messages fetched from the server (0 when storage had them).
 */
export async function ensureOlderMessages(
  storage: ChatStorage,
  call: <T>(run: (signal: AbortSignal) => Promise<T>) => Promise<T>,
  chat: Client<typeof ChatService>,
  userId: string,
  conversationId: string,
  windowSize: number,
  pageSize: number,
): Promise<number> {
  const local = await storage.transaction("readonly", async (tx) => {
    const conversation = await tx.getConversation(conversationId);
    const window = windowSize > 0 ? await tx.getMessages(conversationId, { limit: windowSize }) : [];
    const bound = window[0]?.seq ?? (conversation?.lastSeq ?? 0) + 1;
    const floor = conversation === undefined ? 0 : (findMember(conversation, userId)?.joinedAfterSeq ?? 0);
    const below = await tx.getMessages(conversationId, { beforeSeq: bound, limit: pageSize });
    return { bound, floor, below };
  });

  // Only the stretch just below the window is checked. The window itself has no lasting hole: a
  // conversation's stored messages are one range ending at lastSeq (a rebuild stores the newest page),
  // except for messages sync has not applied yet, which it fills.
  const needed = Math.min(pageSize, Math.max(0, local.bound - 1 - local.floor));
  const contiguous = local.below.every((message, index) => message.seq === local.bound - local.below.length + index);
  if (local.below.length >= needed && contiguous) return 0;

  const response = await call((signal) =>
    chat.getHistory({ conversationId, beforeSeq: BigInt(local.bound), limit: pageSize }, { signal }),
  );
  const messages = response.messages.map(toMessageRecord);
  await storage.transaction("readwrite", async (tx) => {
    await tx.putMessages(messages);
    const conversation = (await tx.getConversation(conversationId)) ?? placeholderConversation(conversationId);
    const newest = messages.reduce((max, message) => Math.max(max, message.seq), 0);
    if (newest > conversation.lastSeq) {
      conversation.lastSeq = newest;
      await tx.putConversation(conversation);
    }
  });
  return messages.length;
}
