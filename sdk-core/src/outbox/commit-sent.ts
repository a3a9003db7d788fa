import type { ChatStorage, MessageRecord } from "../storage/types.js";
import { placeholderConversation } from "../sync/records.js";

/**
 * Records a server acknowledgement in one transaction: removes the outbox
 * entry, stores the confirmed message and advances the conversation.
 *
 * Returns false, writing nothing, when the entry is gone: the message's echo
 * arrived through sync first (and did the same work), or the host discarded
 * the entry. Either way the message is shown once.
 */
export async function commitSentMessage(storage: ChatStorage, message: MessageRecord): Promise<boolean> {
  return storage.transaction("readwrite", async (tx) => {
    const removed = await tx.deleteOutbox(message.clientMessageId);
    if (!removed) return false;
    await tx.putMessages([message]);
    const conversation =
      (await tx.getConversation(message.conversationId)) ?? placeholderConversation(message.conversationId);
    conversation.lastSeq = Math.max(conversation.lastSeq, message.seq);
    conversation.updatedAt = Math.max(conversation.updatedAt, message.createdAt);
    await tx.putConversation(conversation);
    return true;
  });
}
