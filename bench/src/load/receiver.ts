import type { Message } from "@chatwire/gen";

import type { Pair } from "./pairs-setup.js";

/** A Subscribe stream of one receiver, from the start of its log. */
export interface Receiver {
  /** Resolves once the stream has delivered its catch-up and is live; rejects if it ends first. */
  live: Promise<void>;
  /** Ends the stream and resolves when its loop has returned. */
  stop(): Promise<void>;
  /** The error that ended the stream early, if any. */
  failure(): unknown;
}

/** Subscribes the pair's receiver and calls `onMessage` for every message event, in stream order. */
export function startReceiver(pair: Pair, onMessage: (message: Message, receivedAt: number) => void): Receiver {
  const abort = new AbortController();
  let failure: unknown;
  let markLive: () => void = () => {};
  let failLive: (error: unknown) => void = () => {};
  const live = new Promise<void>((resolve, reject) => {
    markLive = resolve;
    failLive = reject;
  });
  // A stream that fails after it went live reports through failure() instead.
  live.catch(() => {});

  const loop = (async () => {
    const stream = pair.receiver.chat.subscribe(
      { cursor: "", deviceId: pair.receiverDeviceId },
      { signal: abort.signal },
    );
    for await (const response of stream) {
      if (response.kind.case !== "batch") continue;
      const receivedAt = performance.now();
      for (const event of response.kind.value.events) {
        if (event.kind.case === "message" && event.kind.value.message !== undefined) {
          onMessage(event.kind.value.message, receivedAt);
        }
      }
      if (!response.kind.value.hasMore) markLive();
    }
    throw new Error(`Subscribe stream of ${pair.receiverDeviceId} ended without an error`);
  })().catch((error: unknown) => {
    if (abort.signal.aborted) return;
    failure = error;
    failLive(error);
  });

  return {
    live,
    async stop() {
      abort.abort();
      await loop;
    },
    failure: () => failure,
  };
}
