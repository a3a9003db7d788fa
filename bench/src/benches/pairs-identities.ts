import type { PairIdentity } from "../load/pairs-setup.js";
import type { Deployment } from "./deployment.js";

/**
 * Mints tokens for `count` sender/receiver pairs named `<prefix>-sender-<i>`
 * and `<prefix>-receiver-<i>`. Pair i's sender uses node i and its receiver
 * node i + 1 (modulo the node count), so on several nodes every message
 * reaches its receiver through the fan-out between nodes.
 */
export async function mintPairs(deployment: Deployment, prefix: string, count: number): Promise<PairIdentity[]> {
  const nodes = deployment.urls.length;
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const senderId = `${prefix}-sender-${index}`;
      const receiverId = `${prefix}-receiver-${index}`;
      return {
        senderId,
        receiverId,
        senderUrl: deployment.urls[index % nodes]!,
        receiverUrl: deployment.urls[(index + 1) % nodes]!,
        senderToken: await deployment.token(senderId),
        receiverToken: await deployment.token(receiverId),
      };
    }),
  );
}
