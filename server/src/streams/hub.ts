/**
 * Readers that wait for new events in a user's log: Subscribe streams and
 * long-polling Sync calls.
 *
 * One shared ticker serves every open stream: it marks heartbeats due and
 * tokens expired, so an idle stream costs a few small objects and no timer of
 * its own. Wake-ups come from the fan-out; the reader then re-reads the store.
 *
 * A user may have at most `maxStreamsPerUser` readers at once, open streams
 * and waiting long-polls together, because the rate limit bounds only how
 * fast calls start, not how many stay open.
 */
import type { FanOut } from "../fanout/types.js";
import { tooManyStreams } from "../rpc/errors.js";

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
  /** Open Subscribe streams plus waiting long-polls allowed per user. */
  maxStreamsPerUser: number;
  onCountChange?: (open: number) => void;
  onWaitingPollsChange?: (waiting: number) => void;
}

export class StreamHub {
  readonly #fanOut: FanOut;
  readonly #heartbeatMs: number;
  readonly #tickMs: number;
  readonly #onCountChange: (open: number) => void;
  readonly #onWaitingPollsChange: (waiting: number) => void;
  readonly #maxStreamsPerUser: number;
  readonly #streams = new Map<LiveStream, () => void>();
  readonly #pollers = new Set<() => void>();
  /** Open streams plus waiting long-polls by user; users with none have no entry. */
  readonly #readersByUser = new Map<string, number>();
  #ticker: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(options: StreamHubOptions) {
    this.#fanOut = options.fanOut;
    this.#heartbeatMs = options.heartbeatMs;
    // A heartbeat goes out at most one tick late; a quarter interval keeps it
    // well inside the 2.5 intervals after which clients give up.
    this.#tickMs = Math.max(5, Math.min(1000, Math.floor(options.heartbeatMs / 4)));
    this.#onCountChange = options.onCountChange ?? (() => {});
    this.#onWaitingPollsChange = options.onWaitingPollsChange ?? (() => {});
    this.#maxStreamsPerUser = options.maxStreamsPerUser;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Registers a stream for the user's log. Register before reading the
   * catch-up, so that an event committed during the read still wakes it.
   * Throws resource_exhausted when the user is at maxStreamsPerUser. The
   * caller must close() the stream on every exit path to free its slot.
   */
  open(userId: string, position: number, expiresAtMs: number, signal: AbortSignal): LiveStream {
    this.#takeSlot(userId);
    const stream = new LiveStream(userId, position, expiresAtMs, (closed) => this.#release(closed));
    let unsubscribe: () => void;
    try {
      unsubscribe = this.#fanOut.subscribe(userId, (head) => {
        if (head > stream.position) stream.wake();
      });
    } catch (error) {
      this.#freeSlot(userId);
      throw error;
    }
    const onAbort = () => stream.wake();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#streams.set(stream, () => {
      unsubscribe();
      signal.removeEventListener("abort", onAbort);
      this.#freeSlot(userId);
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

  #takeSlot(userId: string): void {
    const open = this.#readersByUser.get(userId) ?? 0;
    if (open >= this.#maxStreamsPerUser) throw tooManyStreams(userId, open, this.#maxStreamsPerUser);
    this.#readersByUser.set(userId, open + 1);
  }

  #freeSlot(userId: string): void {
    const open = this.#readersByUser.get(userId) ?? 0;
    if (open <= 1) {
      this.#readersByUser.delete(userId);
    } else {
      this.#readersByUser.set(userId, open - 1);
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
   * missed. Throws resource_exhausted when the user is at maxStreamsPerUser.
   */
  async waitForEvents(
    userId: string,
    afterPosition: number,
    waitMs: number,
    signal: AbortSignal,
    headNow: () => Promise<number>,
  ): Promise<void> {
    if (this.#closing || signal.aborted) return;
    this.#takeSlot(userId);
    let finish = () => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let unsubscribe = () => {};
    let timer: NodeJS.Timeout | undefined;
    try {
      unsubscribe = this.#fanOut.subscribe(userId, (head) => {
        if (head > afterPosition) finish();
      });
      timer = setTimeout(finish, waitMs);
      signal.addEventListener("abort", finish, { once: true });
      this.#pollers.add(finish);
      this.#onWaitingPollsChange(this.#pollers.size);
      if ((await headNow()) > afterPosition) return;
      await done;
    } finally {
      if (this.#pollers.delete(finish)) this.#onWaitingPollsChange(this.#pollers.size);
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      unsubscribe();
      this.#freeSlot(userId);
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
