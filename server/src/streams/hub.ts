/**
 * Readers that wait for new events in a user's log: Subscribe streams and
 * long-polling Sync calls.
 *
 * One shared ticker serves every open stream: it marks heartbeats due and
 * tokens expired, so an idle stream costs a few small objects and no timer of
 * its own. Wake-ups come from the fan-out; the reader then re-reads the store.
 */
import type { FanOut } from "../fanout/types.js";

/** One open Subscribe stream. The stream's loop reads the flags after each wake-up. */
export class LiveStream {
  /** Position of the last event sent. */
  position: number;
  lastFrameAt = 0;
  heartbeatDue = false;
  closing = false;
  readonly userId: string;
  readonly expiresAtMs: number;
  #wakePending = false;
  #resolveWait: (() => void) | undefined;
  #release: () => void;

  constructor(userId: string, position: number, expiresAtMs: number, release: (stream: LiveStream) => void) {
    this.userId = userId;
    this.position = position;
    this.expiresAtMs = expiresAtMs;
    this.#release = () => release(this);
  }

  get expired(): boolean {
    return Date.now() >= this.expiresAtMs;
  }

  wake(): void {
    const resolve = this.#resolveWait;
    if (resolve === undefined) {
      this.#wakePending = true;
      return;
    }
    this.#resolveWait = undefined;
    resolve();
  }

  /** Resolves at the next wake-up, or at once if one came since the last wait. */
  wait(): Promise<void> {
    if (this.#wakePending) {
      this.#wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#resolveWait = resolve;
    });
  }

  /** Records that a frame went out, which postpones the next heartbeat. */
  frameSent(): void {
    this.lastFrameAt = Date.now();
    this.heartbeatDue = false;
  }

  close(): void {
    this.#release();
  }
}

export interface StreamHubOptions {
  fanOut: FanOut;
  heartbeatMs: number;
  onCountChange?: (open: number) => void;
}

export class StreamHub {
  readonly #fanOut: FanOut;
  readonly #heartbeatMs: number;
  readonly #tickMs: number;
  readonly #onCountChange: (open: number) => void;
  readonly #streams = new Map<LiveStream, () => void>();
  readonly #pollers = new Set<() => void>();
  #ticker: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(options: StreamHubOptions) {
    this.#fanOut = options.fanOut;
    this.#heartbeatMs = options.heartbeatMs;
    // A heartbeat goes out at most one tick late; a quarter interval keeps it
    // well inside the 2.5 intervals after which clients give up.
    this.#tickMs = Math.max(5, Math.min(1000, Math.floor(options.heartbeatMs / 4)));
    this.#onCountChange = options.onCountChange ?? (() => {});
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Registers a stream for the user's log. Register before reading the
   * catch-up, so that an event committed during the read still wakes it.
   */
  open(userId: string, position: number, expiresAtMs: number, signal: AbortSignal): LiveStream {
    const stream = new LiveStream(userId, position, expiresAtMs, (closed) => this.#release(closed));
    const unsubscribe = this.#fanOut.subscribe(userId, (head) => {
      if (head > stream.position) stream.wake();
    });
    const onAbort = () => stream.wake();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#streams.set(stream, () => {
      unsubscribe();
      signal.removeEventListener("abort", onAbort);
    });
    if (this.#closing) stream.closing = true;
    this.#onCountChange(this.#streams.size);
    this.#ticker ??= setInterval(() => this.#tick(), this.#tickMs).unref();
    return stream;
  }

  #release(stream: LiveStream): void {
    const cleanup = this.#streams.get(stream);
    if (cleanup === undefined) return;
    this.#streams.delete(stream);
    cleanup();
    this.#onCountChange(this.#streams.size);
    if (this.#streams.size === 0 && this.#ticker !== undefined) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  }

  #tick(): void {
    const now = Date.now();
    for (const stream of this.#streams.keys()) {
      if (now >= stream.expiresAtMs) {
        stream.wake();
      } else if (!stream.heartbeatDue && now - stream.lastFrameAt >= this.#heartbeatMs) {
        stream.heartbeatDue = true;
        stream.wake();
      }
    }
  }

  /**
   * Waits until the user's log passes `afterPosition`, `waitMs` passes, the
   * signal aborts or the server shuts down. `headNow` re-reads the head after
   * the listener is registered, so an event committed just before is not
   * missed.
   */
  async waitForEvents(
    userId: string,
    afterPosition: number,
    waitMs: number,
    signal: AbortSignal,
    headNow: () => Promise<number>,
  ): Promise<void> {
    if (this.#closing || signal.aborted) return;
    let finish = () => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const unsubscribe = this.#fanOut.subscribe(userId, (head) => {
      if (head > afterPosition) finish();
    });
    const timer = setTimeout(finish, waitMs);
    signal.addEventListener("abort", finish, { once: true });
    this.#pollers.add(finish);
    try {
      if ((await headNow()) > afterPosition) return;
      await done;
    } finally {
      this.#pollers.delete(finish);
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      unsubscribe();
    }
  }

  /** Ends every stream (each then ends with unavailable) and releases every long-poll. */
  closeAll(): void {
    this.#closing = true;
    for (const stream of this.#streams.keys()) {
      stream.closing = true;
      stream.wake();
    }
    for (const finish of this.#pollers) finish();
  }

  get openStreams(): number {
    return this.#streams.size;
  }
}
