/** A Subscribe stream that records each frame with its arrival time, for cases to wait on. */
import type { Event, SubscribeResponse } from "@chatwire/gen";

import type { SuiteUser } from "./types.js";

/** One received frame and when it arrived (performance.now(), in ms). */
export interface TimedFrame {
  frame: SubscribeResponse;
  at: number;
}

export interface RecordedStream {
  /** When the Subscribe call started (performance.now(), in ms). */
  readonly openedAt: number;
  readonly frames: readonly TimedFrame[];
  /**
   * Settles when the stream ends: with undefined after close() or when the
   * server ends it without an error, and with the error otherwise.
   */
  readonly ended: Promise<unknown>;
  /** The events of every batch so far, in arrival order. */
  events(): Event[];
  /** Resolves once `condition` holds; rejects when the stream ends first or after `timeoutMs`. */
  waitFor(label: string, condition: (frames: readonly TimedFrame[]) => boolean, timeoutMs: number): Promise<void>;
  /** Cancels the stream. */
  close(): void;
}

interface Waiter {
  condition: (frames: readonly TimedFrame[]) => boolean;
  resolve(): void;
  reject(error: Error): void;
}

/** Opens Subscribe for `user` from `cursor` (default: the start of its log) and records it. */
export function recordStream(user: SuiteUser, cursor = ""): RecordedStream {
  const controller = new AbortController();
  const frames: TimedFrame[] = [];
  const waiters = new Set<Waiter>();
  const openedAt = performance.now();
  let endError: Error | undefined;

  const check = () => {
    for (const waiter of waiters) {
      if (waiter.condition(frames)) {
        waiters.delete(waiter);
        waiter.resolve();
      } else if (endError !== undefined) {
        waiters.delete(waiter);
        waiter.reject(endError);
      }
    }
  };

  const ended = (async () => {
    const stream = user.chat.subscribe({ cursor, deviceId: user.deviceId }, { signal: controller.signal });
    for await (const frame of stream) {
      frames.push({ frame, at: performance.now() });
      check();
    }
  })().then(
    () => {
      endError = new Error(`the server ended ${user.userId}'s Subscribe stream without an error`);
      check();
      return undefined;
    },
    (error: unknown) => {
      endError = new Error(`${user.userId}'s Subscribe stream ended: ${error instanceof Error ? error.message : String(error)}`);
      check();
      return controller.signal.aborted ? undefined : error;
    },
  );

  return {
    openedAt,
    frames,
    ended,
    events: () => frames.flatMap(({ frame }) => (frame.kind.case === "batch" ? frame.kind.value.events : [])),
    waitFor(label, condition, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label} on ${user.userId}'s Subscribe stream`));
        }, timeoutMs);
        const waiter: Waiter = {
          condition,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(new Error(`${error.message} while waiting for ${label}`));
          },
        };
        waiters.add(waiter);
        check();
      });
    },
    close: () => controller.abort(),
  };
}

/** Counts the heartbeat frames in `frames`. */
export function heartbeatCount(frames: readonly TimedFrame[]): number {
  return frames.filter(({ frame }) => frame.kind.case === "heartbeat").length;
}
