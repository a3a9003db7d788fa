/**
 * Readers that wait for new events in a user's log: Subscribe streams and
 * long-polling Sync calls.
 *
 * One shared ticker serves every open stream: it marks heartbeats due and
 * tokens expired, so an idle stream costs a few small objects and no timer of
 * its own. Wake-ups come from the fan-out; the reader then re-reads the store.
 *
 * Lost notifications: a stream that wakes for its heartbeat reads the store
 * before it sends the heartbeat, so an event whose notification never came
 * goes out at the stream's next heartbeat at the latest, with no extra read.
 * A waiting long-poll sends no heartbeats, so with a fan-out that may lose
 * notifications (Redis) the ticker also reads its log head once per
 * heartbeat interval. The in-process fan-out loses none, so there long-polls
 * cost no reads while they wait.
 *
 * A user may have at most `maxStreamsPerUser` readers at once, open streams
 * and waiting long-polls together, because the rate limit bounds only how
 * fast calls start, not how many stay open. The hub counts this node's
 * readers itself. With `leases` (Redis), each reader also holds a lease that
 * counts it on every node, and the ticker refreshes the leases.
 */
import type { FanOut } from "../fanout/types.js";
import { tooManyStreams } from "../rpc/errors.js";
import { LiveStream } from "./live-stream.js";
import { WaitingPoll } from "./waiting-poll.js";

/** Result of ReaderLeases.acquire: `open` is the user's reader count on all nodes. */
export type LeaseResult = { acquired: true } | { acquired: false; open: number };

/** Leases that count a user's readers on every node of a deployment. */
export interface ReaderLeases {
  /** Interval between refresh() calls, in ms. */
  readonly refreshIntervalMs: number;
  /**
   * Takes a lease for the reader unless the user holds `limit` already.
   * Resolves `acquired: true` without a lease when the shared count is
   * unavailable, because the hub's local count has already been checked.
   */
  acquire(userId: string, readerId: string, limit: number): Promise<LeaseResult>;
  release(userId: string, readerId: string): void;
  /** Extends the leases of every reader on this node, given by user. */
  refresh(readers: ReadonlyMap<string, ReadonlySet<string>>): void;
}

export interface StreamHubOptions {
  fanOut: FanOut;
  heartbeatMs: number;
  /** Open Subscribe streams plus waiting long-polls allowed per user. */
  maxStreamsPerUser: number;
  /** Shared reader count across nodes; without it only this node's readers count. */
  leases?: ReaderLeases;
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
  readonly #leases: ReaderLeases | undefined;
  readonly #streams = new Map<LiveStream, () => void>();
  readonly #polls = new Set<WaitingPoll>();
  /** Ids of open streams plus waiting long-polls by user; users with none have no entry. */
  readonly #readersByUser = new Map<string, Set<string>>();
  #nextReaderId = 1;
  #nextLeaseRefreshAt = 0;
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
    this.#leases = options.leases;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Registers a stream for the user's log. Register before reading the
   * catch-up, so that an event committed during the read still wakes it.
   * Rejects with resource_exhausted when the user is at maxStreamsPerUser.
   * The caller must close() the stream on every exit path to free its slot.
   */
  async open(userId: string, position: number, expiresAtMs: number, signal: AbortSignal): Promise<LiveStream> {
    const readerId = await this.#takeSlot(userId);
    const stream = new LiveStream(userId, position, expiresAtMs, (closed) => this.#release(closed));
    let unsubscribe: () => void;
    try {
      unsubscribe = this.#fanOut.subscribe(userId, (head) => {
        if (head === undefined || head > stream.position) stream.wake();
      });
    } catch (error) {
      this.#freeSlot(userId, readerId);
      throw error;
    }
    const onAbort = () => stream.wake();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#streams.set(stream, () => {
      unsubscribe();
      signal.removeEventListener("abort", onAbort);
      this.#freeSlot(userId, readerId);
    });
    if (this.#closing) stream.closing = true;
    this.#onCountChange(this.#streams.size);
    this.#startTicker();
    return stream;
  }

  #startTicker(): void {
    this.#ticker ??= setInterval(() => this.#tick(), this.#tickMs).unref();
  }

  /** Stops the ticker when no stream is open and no waiting poll needs checks or lease refreshes. */
  #stopIdleTicker(): void {
    const pollsNeedTicks = (this.#fanOut.mayLoseNotifications || this.#leases !== undefined) && this.#polls.size > 0;
    if (this.#streams.size === 0 && !pollsNeedTicks && this.#ticker !== undefined) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  }

  #release(stream: LiveStream): void {
    const cleanup = this.#streams.get(stream);
    if (cleanup === undefined) return;
    this.#streams.delete(stream);
    cleanup();
    this.#onCountChange(this.#streams.size);
    this.#stopIdleTicker();
  }

  /**
   * Counts a new reader of the user and returns its id, or throws
   * resource_exhausted. The local count is checked first, because this
   * node's readers are part of the shared count too.
   */
  async #takeSlot(userId: string): Promise<string> {
    let readers = this.#readersByUser.get(userId);
    const open = readers?.size ?? 0;
    if (open >= this.#maxStreamsPerUser) throw tooManyStreams(userId, open, this.#maxStreamsPerUser);
    if (readers === undefined) {
      readers = new Set();
      this.#readersByUser.set(userId, readers);
    }
    const readerId = String(this.#nextReaderId++);
    // Counted locally before the lease is asked for, so that concurrent
    // calls on this node cannot pass the local check together.
    readers.add(readerId);
    if (this.#leases === undefined) return readerId;
    let lease: LeaseResult;
    try {
      lease = await this.#leases.acquire(userId, readerId, this.#maxStreamsPerUser);
    } catch (error) {
      this.#forgetReader(userId, readerId);
      throw error;
    }
    if (!lease.acquired) {
      this.#forgetReader(userId, readerId);
      throw tooManyStreams(userId, lease.open, this.#maxStreamsPerUser);
    }
    return readerId;
  }

  #freeSlot(userId: string, readerId: string): void {
    this.#forgetReader(userId, readerId);
    this.#leases?.release(userId, readerId);
  }

  #forgetReader(userId: string, readerId: string): void {
    const readers = this.#readersByUser.get(userId);
    readers?.delete(readerId);
    if (readers?.size === 0) this.#readersByUser.delete(userId);
  }

  #tick(): void {
    const now = Date.now();
    if (this.#leases !== undefined && now >= this.#nextLeaseRefreshAt) {
      this.#nextLeaseRefreshAt = now + this.#leases.refreshIntervalMs;
      this.#leases.refresh(this.#readersByUser);
    }
    for (const stream of this.#streams.keys()) {
      if (now >= stream.expiresAtMs) {
        stream.wake();
      } else if (!stream.heartbeatDue && now - stream.lastFrameAt >= this.#heartbeatMs) {
        stream.heartbeatDue = true;
        stream.wake();
      }
    }
    if (!this.#fanOut.mayLoseNotifications) return;
    for (const poll of this.#polls) {
      if (now >= poll.nextCheckAt) {
        poll.nextCheckAt = now + this.#heartbeatMs;
        poll.check();
      }
    }
  }

  /**
   * Waits until the user's log passes `afterPosition`, `waitMs` passes, the
   * signal aborts or the server shuts down. `headNow` re-reads the head after
   * the listener is registered, so an event committed just before is not
   * missed, and again on each check (see WaitingPoll). Rejects with
   * resource_exhausted when the user is at maxStreamsPerUser.
   */
  async waitForEvents(
    userId: string,
    afterPosition: number,
    waitMs: number,
    signal: AbortSignal,
    headNow: () => Promise<number>,
  ): Promise<void> {
    if (this.#closing || signal.aborted) return;
    const readerId = await this.#takeSlot(userId);
    if (this.#closing || signal.aborted) {
      this.#freeSlot(userId, readerId);
      return;
    }
    const poll = new WaitingPoll(afterPosition, headNow, Date.now() + this.#heartbeatMs);
    const finish = () => poll.finish();
    let unsubscribe = () => {};
    let timer: NodeJS.Timeout | undefined;
    try {
      unsubscribe = this.#fanOut.subscribe(userId, (head) => poll.notified(head));
      timer = setTimeout(finish, waitMs);
      signal.addEventListener("abort", finish, { once: true });
      this.#polls.add(poll);
      this.#onWaitingPollsChange(this.#polls.size);
      if (this.#fanOut.mayLoseNotifications || this.#leases !== undefined) this.#startTicker();
      if ((await headNow()) > afterPosition) return;
      poll.firstCheckDone();
      await poll.done;
    } finally {
      poll.finish();
      if (this.#polls.delete(poll)) this.#onWaitingPollsChange(this.#polls.size);
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      unsubscribe();
      this.#freeSlot(userId, readerId);
      this.#stopIdleTicker();
    }
  }

  /** Ends every stream (each then ends with unavailable) and releases every long-poll. */
  closeAll(): void {
    this.#closing = true;
    for (const stream of this.#streams.keys()) {
      stream.closing = true;
      stream.wake();
    }
    for (const poll of this.#polls) poll.finish();
  }

  get openStreams(): number {
    return this.#streams.size;
  }
}
