/**
 * A hashed timing wheel (G. Varghese and T. Lauck, "Hashed and Hierarchical
 * Timing Wheels", SOSP 1987): tasks are kept in one bucket per millisecond
 * slot, and a single 1 ms timer runs every bucket whose time has passed. A
 * task's due time is absolute, so a late tick never shifts later tasks, as
 * chained sleeps would.
 */
export class TimerWheel {
  private readonly buckets: Array<Array<{ tick: number; task: (lateMs: number) => void }>>;
  private readonly origin = performance.now();
  private nextTick = 0;
  private runningTick = -1;
  private timer: NodeJS.Timeout | undefined;

  /** `slots` bounds how far ahead a task may be scheduled, in ms. */
  constructor(private readonly slots = 4_096) {
    this.buckets = Array.from({ length: slots }, () => []);
  }

  /** Runs `task` at `atMs` (a performance.now() time) or at the first tick after it, with how late it ran. */
  schedule(atMs: number, task: (lateMs: number) => void): void {
    // A task scheduled from a running task goes to a later tick, since the
    // running tick's bucket has already been taken.
    const earliest = Math.max(this.nextTick, this.runningTick + 1);
    const tick = Math.max(earliest, Math.ceil(atMs - this.origin));
    if (tick - earliest >= this.slots) {
      throw new Error(`a task ${atMs - performance.now()} ms ahead exceeds the wheel's ${this.slots} ms horizon`);
    }
    this.buckets[tick % this.slots]?.push({ tick, task });
  }

  start(): void {
    this.timer = setInterval(() => this.runDue(), 1);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private runDue(): void {
    const now = performance.now();
    const currentTick = Math.floor(now - this.origin);
    for (; this.nextTick <= currentTick; this.nextTick++) {
      const bucket = this.buckets[this.nextTick % this.slots];
      if (bucket === undefined || bucket.length === 0) continue;
      const due = bucket.filter((entry) => entry.tick === this.nextTick);
      if (due.length === 0) continue;
      this.buckets[this.nextTick % this.slots] = bucket.filter((entry) => entry.tick !== this.nextTick);
      this.runningTick = this.nextTick;
      for (const entry of due) entry.task(now - (this.origin + entry.tick));
    }
    this.runningTick = -1;
  }
}
