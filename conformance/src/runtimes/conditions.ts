/**
 * Evaluation of WaitConditions on snapshots, shared by every runtime so a
 * condition means the same in a child process, a page and the test process.
 */
import type { ClientSnapshot, MessageStatus, WaitCondition } from "./types.js";

/** Status order: a message that is read has also been delivered and sent. */
const STATUS_RANK: Record<MessageStatus, number> = {
  failed: -1,
  pending: 0,
  sent: 1,
  delivered: 2,
  read: 3,
};

/** Returns true when the snapshot satisfies the condition. */
export function conditionHolds(condition: WaitCondition, snapshot: ClientSnapshot): boolean {
  switch (condition.kind) {
    case "stored":
      return (snapshot.stored[condition.conversationId]?.length ?? 0) >= condition.count;
    case "outbox-drained":
      return snapshot.outbox.every((entry) => entry.state !== "queued");
    case "connection":
      return snapshot.connection === condition.state;
    case "status": {
      const item = snapshot.views[condition.conversationId]?.find(
        (view) => view.clientMessageId === condition.clientMessageId,
      );
      if (!item) return false;
      if (condition.status === "failed") return item.status === "failed";
      return STATUS_RANK[item.status] >= STATUS_RANK[condition.status];
    }
    case "unread":
      return (
        snapshot.conversations.find((c) => c.conversationId === condition.conversationId)?.unreadCount ===
        condition.count
      );
    case "conversation":
      return snapshot.conversations.some((c) => c.conversationId === condition.conversationId);
    case "removed":
      return snapshot.conversations.some((c) => c.conversationId === condition.conversationId && c.removed);
  }
}

/** Describes a snapshot in one line, for timeout messages. */
export function describeSnapshot(snapshot: ClientSnapshot): string {
  const stored = Object.entries(snapshot.stored)
    .map(([id, messages]) => `${id}: ${messages.length}`)
    .join(", ");
  const queued = snapshot.outbox.filter((entry) => entry.state === "queued").length;
  const failed = snapshot.outbox.length - queued;
  return (
    `connection ${snapshot.connection}; ${snapshot.conversations.length} conversations; ` +
    `stored messages {${stored}}; outbox ${queued} queued, ${failed} failed`
  );
}

/**
 * Polls `read` until the condition holds. Rejects after `timeoutMs` with
 * the condition and the last snapshot in the message.
 */
export async function pollFor(
  read: () => Promise<ClientSnapshot>,
  condition: WaitCondition,
  timeoutMs: number,
  intervalMs = 50,
): Promise<ClientSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let snapshot = await read();
  while (!conditionHolds(condition, snapshot)) {
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${JSON.stringify(condition)} ` +
          `as ${snapshot.userId}; last state: ${describeSnapshot(snapshot)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    snapshot = await read();
  }
  return snapshot;
}
