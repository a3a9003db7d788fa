// Load generator that fills a receiver's log before the catch-up benchmark:
// one direct conversation per sender, each with the same number of
// messages. Runs as a child of bench/dist/src/run.js.
import { ConversationKind } from "@chatwire/gen";

import { serveRunner } from "./channel.js";
import { connectUser } from "./rpc.js";
import { uuidv7 } from "./uuidv7.js";

export interface SeedConfig {
  baseUrl: string;
  receiver: { userId: string; token: string };
  senders: Array<{ userId: string; token: string }>;
  messagesPerConversation: number;
  /** SendMessage calls each sender keeps open while seeding. */
  inFlightPerSender: number;
}

export interface SeedResult {
  conversationIds: string[];
  /** Position of the last event in the receiver's log after seeding, from Sync. */
  endPosition: number;
  /** Events in the receiver's log: one per conversation created, one per message. */
  eventCount: number;
}

serveRunner<SeedConfig>(async (config, channel): Promise<SeedResult> => {
  const conversationIds = await Promise.all(
    config.senders.map(async (sender, index) => {
      const connection = connectUser(config.baseUrl, sender.token);
      try {
        const created = await connection.conversations.createConversation({
          kind: ConversationKind.DIRECT,
          memberIds: [config.receiver.userId],
        });
        const conversationId = created.conversation?.conversationId ?? "";
        let next = 0;
        const worker = async () => {
          while (next < config.messagesPerConversation) {
            next++;
            await connection.chat.sendMessage({
              conversationId,
              clientMessageId: uuidv7(),
              text: `catch-up message ${next} from ${sender.userId}`,
              deviceId: `seed-${index}`,
            });
          }
        };
        await Promise.all(Array.from({ length: config.inFlightPerSender }, worker));
        return conversationId;
      } finally {
        connection.close();
      }
    }),
  );
  channel.progress(`${conversationIds.length} conversations seeded with ${config.messagesPerConversation} messages each`);

  // Page through the receiver's whole log once to learn the position at its end.
  const receiver = connectUser(config.baseUrl, config.receiver.token);
  try {
    let cursor = "";
    let eventCount = 0;
    let endPosition = 0;
    for (let page = 0; page < 10_000; page++) {
      const response = await receiver.chat.sync({ cursor, deviceId: "seed-probe", limit: 1_000 });
      cursor = response.nextCursor;
      eventCount += response.events.length;
      endPosition = Number(response.events.at(-1)?.position ?? endPosition);
      if (!response.hasMore) return { conversationIds, endPosition, eventCount };
    }
    throw new Error("the receiver's log did not end within 10,000 Sync pages");
  } finally {
    receiver.close();
  }
});
