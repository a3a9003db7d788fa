import type { Socket } from "node:net";

/**
 * Bytes a queue buffers before it pauses its source socket. Above this the
 * kernel's receive buffer takes the backlog, so a slow sink slows the sender
 * down through TCP flow control instead of growing this process's memory.
 */
const HIGH_WATER_BYTES = 256 * 1024;

/** The faults a queue consults before each step; the proxy changes them at any time. */
export interface ForwardingControl {
  /** True while forwarding is stopped in both directions. */
  isStalled(): boolean;
  /** Milliseconds each chunk waits between being read and being written. */
  delayMs(): number;
  /**
   * Decides how much of a chunk may still be written. Returns the chunk
   * itself to forward it whole, or a prefix together with `cutAfterWrite`
   * to forward the prefix and then cut the connection.
   */
  limitWrite(chunk: Buffer): { chunk: Buffer; cutAfterWrite: boolean };
  /** Called after a write with the number of bytes handed to the sink. */
  onForwarded(bytes: number): void;
  /** Called when a prefix limit was reached and its bytes are flushed. */
  onLimitReached(): void;
}

interface QueuedChunk {
  chunk: Buffer;
  releaseAt: number;
}

/**
 * Forwards one direction of a connection, source to sink, in order.
 *
 * Every chunk is released `delayMs()` after it was read, but never before the
 * chunk ahead of it, so a delay change keeps byte order. The source socket
 * is paused while the connection is stalled, while the sink needs a drain
 * and while the queue contains more than HIGH_WATER_BYTES.
 */
export class ForwardingQueue {
  private readonly queue: QueuedChunk[] = [];
  private queuedBytes = 0;
  private lastReleaseAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private sourceEnded = false;
  private stopped = false;

  constructor(
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly control: ForwardingControl,
  ) {}

  /** Queues a chunk read from the source and forwards what is due. */
  push(chunk: Buffer): void {
    if (this.stopped) return;
    const releaseAt = Math.max(performance.now() + this.control.delayMs(), this.lastReleaseAt);
    this.lastReleaseAt = releaseAt;
    this.queue.push({ chunk, releaseAt });
    this.queuedBytes += chunk.length;
    this.pump();
  }

  /** Records that the source sent FIN; the sink is ended once the queue is empty. */
  endOfSource(): void {
    this.sourceEnded = true;
    this.pump();
  }

  /** Drops everything queued and stops forwarding for good. Returns the bytes dropped. */
  stop(): number {
    const dropped = this.queuedBytes;
    this.stopped = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    return dropped;
  }

  /** Writes every chunk that is due, then pauses or resumes the source to match. */
  pump(): void {
    if (this.stopped) return;
    while (!this.control.isStalled() && !this.waitingForDrain && this.timer === undefined) {
      const head = this.queue[0];
      if (head === undefined) break;

      const waitMs = head.releaseAt - performance.now();
      if (waitMs > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, Math.ceil(waitMs));
        break;
      }

      this.queue.shift();
      this.queuedBytes -= head.chunk.length;
      if (!this.write(head.chunk)) return;
    }

    if (this.queue.length === 0 && this.sourceEnded && !this.sink.writableEnded) this.sink.end();
    this.updateSourceFlow();
  }

  /** Returns false when the write ended forwarding (a byte limit cut the connection). */
  private write(chunk: Buffer): boolean {
    const limited = this.control.limitWrite(chunk);
    if (limited.cutAfterWrite) {
      this.stop();
      this.source.pause();
      this.control.onForwarded(limited.chunk.length);
      // The cut waits for the write callback so that exactly the allowed
      // bytes reach the kernel before the socket closes.
      this.sink.write(limited.chunk, () => this.control.onLimitReached());
      return false;
    }

    this.control.onForwarded(chunk.length);
    if (!this.sink.write(chunk)) {
      this.waitingForDrain = true;
      this.sink.once("drain", () => {
        this.waitingForDrain = false;
        this.pump();
      });
    }
    return true;
  }

  private updateSourceFlow(): void {
    const shouldRead =
      !this.control.isStalled() && !this.waitingForDrain && this.queuedBytes < HIGH_WATER_BYTES;
    if (shouldRead && this.source.isPaused()) this.source.resume();
    if (!shouldRead && !this.source.isPaused()) this.source.pause();
  }
}
