import type { ServerProcess } from "../server-launcher.js";
import type { PairIdentity } from "../load/pairs-setup.js";

/** Mints tokens for `count` sender/receiver pairs named `<prefix>-sender-<i>` and `<prefix>-receiver-<i>`. */
export async function mintPairs(server: ServerProcess, prefix: string, count: number): Promise<PairIdentity[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const senderId = `${prefix}-sender-${index}`;
      const receiverId = `${prefix}-receiver-${index}`;
      return {
        senderId,
        receiverId,
        senderToken: await server.token(senderId),
        receiverToken: await server.token(receiverId),
      };
    }),
  );
}
