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
