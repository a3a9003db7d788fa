/**
 * The message one node publishes on a user's Redis channel after a commit:
 * JSON `{"node": "<sender id>", "position": 42, "sentAtMs": 1700000000000}`.
 * `node` lets the sender drop its own message when it comes back, and
 * `sentAtMs` (the sender's clock) gives the receiver the fan-out lag.
 */

export interface Notification {
  node: string;
  position: number;
  sentAtMs: number;
}

export function encodeNotification(notification: Notification): string {
  return JSON.stringify(notification);
}

/** Returns the notification, or undefined when the message is not one. */
export function decodeNotification(message: string): Notification | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { node, position, sentAtMs } = parsed as Record<string, unknown>;
  if (typeof node !== "string") return undefined;
  if (typeof position !== "number" || !Number.isSafeInteger(position) || position < 0) return undefined;
  if (typeof sentAtMs !== "number" || !Number.isFinite(sentAtMs)) return undefined;
  return { node, position, sentAtMs };
}

/** Channel names of one prefix: `<prefix>user:<user id>`. */
export class ChannelNames {
  readonly #prefix: string;

  constructor(channelPrefix: string) {
    this.#prefix = `${channelPrefix}user:`;
  }

  forUser(userId: string): string {
    return this.#prefix + userId;
  }

  /** Returns the user id of a channel of this prefix, or undefined for another channel. */
  userOf(channel: string): string | undefined {
    return channel.startsWith(this.#prefix) ? channel.slice(this.#prefix.length) : undefined;
  }
}
