import { ConversationKind } from "@chatwire/gen";

import { connectUser, type UserConnection } from "./rpc.js";

/** The user ids, server addresses and tokens of one sender/receiver pair. */
export interface PairIdentity {
  senderId: string;
  receiverId: string;
  /** The node the sender connects to. */
  senderUrl: string;
  /** The node the receiver connects to; another node than the sender's when there are several. */
  receiverUrl: string;
  senderToken: string;
  receiverToken: string;
}

/** A sender and a receiver with a direct conversation between them. */
export interface Pair {
  index: number;
  sender: UserConnection;
  receiver: UserConnection;
  conversationId: string;
  senderDeviceId: string;
  receiverDeviceId: string;
}

/** Connects every user and creates one direct conversation per pair. */
export async function openPairs(identities: readonly PairIdentity[]): Promise<Pair[]> {
  return Promise.all(
    identities.map(async (identity, index) => {
      const sender = connectUser(identity.senderUrl, identity.senderToken);
      const receiver = connectUser(identity.receiverUrl, identity.receiverToken);
      const created = await sender.conversations.createConversation({
        kind: ConversationKind.DIRECT,
        memberIds: [identity.receiverId],
      });
      const conversationId = created.conversation?.conversationId;
      if (conversationId === undefined || conversationId === "") {
        throw new Error(`CreateConversation for ${identity.senderId} and ${identity.receiverId} returned no conversation id`);
      }
      return {
        index,
        sender,
        receiver,
        conversationId,
        senderDeviceId: `bench-sender-${index}`,
        receiverDeviceId: `bench-receiver-${index}`,
      };
    }),
  );
}

export function closePairs(pairs: readonly Pair[]): void {
  for (const pair of pairs) {
    pair.sender.close();
    pair.receiver.close();
  }
}
