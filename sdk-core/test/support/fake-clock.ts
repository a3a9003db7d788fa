import type { Clock, TimerHandle } from "../../src/options.js";

interface Timer {
  at: number;
  order: number;
  callback: () => void;
}

/**
 * A clock whose time moves only when a test calls `advance()`. Timers due
 * within the advanced span run in time order, and pending promise work
 * settles after each one, so code that awaits between timers behaves as it
 * would in real time.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #order = 0;
  readonly #timers = new Map<number, Timer>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, delayMs), order: this.#order++, callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Number of timers not yet run. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Due times of the pending timers, relative to now. */
  pendingDelays(): number[] {
    return [...this.#timers.values()].map((timer) => timer.at - this.#now).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (let guard = 0; guard < 100_000; guard++) {
      const next = this.#nextDue(target);
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].callback();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #nextDue(target: number): [number, Timer] | undefined {
    let found: [number, Timer] | undefined;
    for (const entry of this.#timers) {
      const timer = entry[1];
      if (timer.at > target) continue;
      if (found === undefined || timer.at < found[1].at || (timer.at === found[1].at && timer.order < found[1].order)) {
        found = entry;
      }
    }
    return found;
  }
}

/** Lets pending promise callbacks and I/O-free macrotasks run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Settles until `predicate` holds, failing after a bounded number of rounds. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, rounds = 200): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await predicate()) return;
    await settle(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Returns a deterministic random source (a linear congruential generator), so ids and jitter repeat run to run. */
export function seededRandom(seed = 42): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
