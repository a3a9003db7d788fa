/**
 * One long-polling Sync call that waits for the user's log to pass
 * `afterPosition`. It finishes when the fan-out announces a head past that
 * position, when a read of the head finds one, or when the hub calls
 * finish() (timeout, client abort, shutdown).
 *
 * Checks read the head from the store. The caller's first read counts as a
 * running check, and a check requested while one runs (an `undefined`
 * notification, a heartbeat tick) runs once more after it, so that an
 * event committed during a read is not missed.
 */
export class WaitingPoll {
  readonly afterPosition: number;
  /** Settles when the poll finishes. */
  readonly done: Promise<void>;
  /** When the hub's ticker runs the next check, in Unix ms (only with a fan-out that may lose notifications). */
  nextCheckAt: number;
  readonly #headNow: () => Promise<number>;
  #resolve: () => void = () => {};
  #finished = false;
  #checking = true;
  #checkRequested = false;

  constructor(afterPosition: number, headNow: () => Promise<number>, nextCheckAt: number) {
    this.afterPosition = afterPosition;
    this.#headNow = headNow;
    this.nextCheckAt = nextCheckAt;
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  finish(): void {
    this.#finished = true;
    this.#resolve();
  }

  /** Handles a fan-out notification: finishes on a head past the position, checks the store on `undefined`. */
  notified(head: number | undefined): void {
    if (head === undefined) {
      this.check();
    } else if (head > this.afterPosition) {
      this.finish();
    }
  }

  /** Ends the caller's first read of the head; runs a check that was requested during it. */
  firstCheckDone(): void {
    this.#checking = false;
    if (this.#checkRequested) this.check();
  }

  /**
   * Reads the head and finishes when it passed the position. A failed read
   * finishes the poll too, so that Sync's own read reports the failure.
   */
  check(): void {
    if (this.#finished) return;
    if (this.#checking) {
      this.#checkRequested = true;
      return;
    }
    this.#checking = true;
    void this.#runChecks();
  }

  async #runChecks(): Promise<void> {
    try {
      do {
        this.#checkRequested = false;
        if ((await this.#headNow()) > this.afterPosition) {
          this.finish();
          return;
        }
      } while (this.#checkRequested && !this.#finished);
    } catch {
      this.finish();
    } finally {
      this.#checking = false;
    }
  }
}
