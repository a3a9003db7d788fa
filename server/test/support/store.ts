/** Short forms of common store calls for store-level tests. */
import { ConversationKind } from "@chatwire/gen";
import { uuidV7 } from "../../src/ids.js";
import type { Store } from "../../src/store/types.js";

/** Member limit these helpers pass; above any group the tests create. */
const MAX_MEMBERS = 1000;

export async function createGroup(store: Store, creatorId: string, memberIds: string[], title = "team"): Promise<string> {
  const created = await store.createConversation({
    creatorId,
    kind: ConversationKind.GROUP,
    memberIds,
    title,
    requestId: "",
    maxMembers: MAX_MEMBERS,
  });
  return created.conversation.conversationId;
}

export async function createDirect(store: Store, creatorId: string, otherId: string): Promise<string> {
  const created = await store.createConversation({
    creatorId,
    kind: ConversationKind.DIRECT,
    memberIds: [otherId],
    title: "",
    requestId: "",
    maxMembers: MAX_MEMBERS,
  });
  return created.conversation.conversationId;
}

export function sendText(store: Store, senderId: string, conversationId: string, text: string, clientMessageId = uuidV7()) {
  return store.sendMessage({ senderId, senderDeviceId: "d1", conversationId, clientMessageId, text });
}
