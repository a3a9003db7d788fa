import { connect, type Socket } from "node:net";

import type { FaultPolicy } from "./fault-policy.js";
import { ForwardingQueue } from "./forwarding-queue.js";

/** What a connection reports to its proxy. */
export interface ConnectionListener {
  onForwarded(direction: "toServer" | "toClient", bytes: number): void;
  onDropped(bytes: number): void;
  onCut(): void;
  onClosed(connection: ProxiedConnection): void;
}

/**
 * One client connection and its upstream connection to the target.
 *
 * Half-closes pass through: a FIN from one side is forwarded after the bytes
 * queued ahead of it. When either socket closes for good, the other one is
 * destroyed too, so the pair always ends together.
 */
export class ProxiedConnection {
  private readonly upstream: Socket;
  private readonly toServer: ForwardingQueue;
  private readonly toClient: ForwardingQueue;
  /** Server-to-client bytes this connection may still carry, or undefined for no limit. */
  private responseBytesLeft: number | undefined;
  private readonly openedAt = performance.now();
  private ageTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly client: Socket,
    target: { host: string; port: number },
    private readonly policy: FaultPolicy,
    private readonly listener: ConnectionListener,
  ) {
    this.responseBytesLeft = policy.responseByteLimit;
    this.upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    client.setNoDelay(true);
    this.upstream.setNoDelay(true);

    this.toServer = new ForwardingQueue(client, this.upstream, {
      isStalled: () => policy.stalled,
      delayMs: () => policy.delayMs,
      limitWrite: (chunk) => ({ chunk, cutAfterWrite: false }),
      onForwarded: (bytes) => listener.onForwarded("toServer", bytes),
      onLimitReached: () => this.cut(),
    });
    this.toClient = new ForwardingQueue(this.upstream, client, {
      isStalled: () => policy.stalled,
      delayMs: () => policy.delayMs,
      limitWrite: (chunk) => this.limitResponse(chunk),
      onForwarded: (bytes) => listener.onForwarded("toClient", bytes),
      onLimitReached: () => this.cut(),
    });

    client.on("data", (chunk: Buffer) => this.toServer.push(chunk));
    client.on("end", () => this.toServer.endOfSource());
    this.upstream.on("data", (chunk: Buffer) => this.onResponseChunk(chunk));
    this.upstream.on("end", () => this.toClient.endOfSource());

    // An error is always followed by "close", which tears the pair down.
    client.on("error", () => {});
    this.upstream.on("error", () => {});
    client.on("close", () => this.destroy());
    this.upstream.on("close", () => this.destroy());

    this.limitAge(policy.maxConnectionAgeMs);
    this.refresh();
  }

  /** Applies a policy change: pauses or resumes reading and forwards what is due. */
  refresh(): void {
    this.toServer.pump();
    this.toClient.pump();
  }

  /** Limits the server-to-client bytes from now on; undefined removes the limit. */
  limitResponseBytes(bytes: number | undefined): void {
    this.responseBytesLeft = bytes;
  }

  /**
   * Cuts the connection once it is `ageMs` old, counted from when the proxy
   * accepted it. A connection older than that is cut at once. Undefined
   * removes the limit.
   */
  limitAge(ageMs: number | undefined): void {
    clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
    if (ageMs === undefined || this.closed) return;
    const leftMs = Math.max(0, this.openedAt + ageMs - performance.now());
    this.ageTimer = setTimeout(() => this.cut(), leftMs);
  }

  /** Destroys both sockets on purpose and counts it as a cut. */
  cut(): void {
    if (this.closed) return;
    this.listener.onCut();
    this.destroy();
  }

  /** Destroys both sockets and drops whatever is still queued. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.ageTimer);
    const dropped = this.toServer.stop() + this.toClient.stop();
    if (dropped > 0) this.listener.onDropped(dropped);
    this.client.destroy();
    this.upstream.destroy();
    this.listener.onClosed(this);
  }

  private onResponseChunk(chunk: Buffer): void {
    const onNextResponse = this.policy.onNextResponse;
    if (onNextResponse !== undefined) {
      // The server has already committed the request these bytes respond to, so
      // dropping them and closing is "the response was lost".
      this.policy.onNextResponse = undefined;
      this.listener.onDropped(chunk.length);
      this.cut();
      onNextResponse();
      return;
    }
    this.toClient.push(chunk);
  }

  private limitResponse(chunk: Buffer): { chunk: Buffer; cutAfterWrite: boolean } {
    const left = this.responseBytesLeft;
    if (left === undefined || chunk.length < left) {
      if (left !== undefined) this.responseBytesLeft = left - chunk.length;
      return { chunk, cutAfterWrite: false };
    }
    if (chunk.length > left) this.listener.onDropped(chunk.length - left);
    this.responseBytesLeft = 0;
    return { chunk: chunk.subarray(0, left), cutAfterWrite: true };
  }
}
