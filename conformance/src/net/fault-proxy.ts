import { createServer, type Socket } from "node:net";

import {
  emptyStats,
  passThroughPolicy,
  type FaultPolicy,
  type FaultProxyStats,
} from "./fault-policy.js";
import { listenOnLoopback } from "./loopback-listen.js";
import { ProxiedConnection } from "./proxied-connection.js";

/** Options of startFaultProxy. */
export interface FaultProxyOptions {
  /** The address the proxy forwards to: a loopback host and a port. */
  target: { host: string; port: number };
}

/**
 * A TCP proxy on 127.0.0.1 that forwards bytes to one target and injects
 * network faults on command.
 *
 * It starts as a pass-through. Each control's documentation states whether it acts on the
 * connections open now, on connections accepted later, or on both. Controls
 * combine (a delay and a byte limit can be active together) until reset().
 */
export interface FaultProxy {
  /** Always "127.0.0.1". */
  readonly host: string;
  /** The port the proxy listens on, chosen by the OS. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`, for HTTP clients. */
  readonly url: string;

  /** Holds every chunk `ms` milliseconds before forwarding it, in both directions, on current and new connections. 0 removes the delay. */
  delay(ms: number): void;
  /**
   * Stops forwarding in both directions on current and new connections while
   * keeping every socket open: the peers see a silent, dead stream with no
   * bytes and no close. Unread bytes wait in kernel buffers until resume().
   */
  stall(): void;
  /** Ends a stall and forwards the bytes held back, in order. */
  resume(): void;
  /** Destroys every open connection now (both sockets closed, queued bytes dropped). New connections are not affected. */
  cutAll(): void;
  /**
   * Lets each current and new connection carry `bytes` more bytes from the
   * server to the client, then forwards exactly that many and closes the
   * connection. Stays armed for new connections until reset().
   */
  cutAfterResponseBytes(bytes: number): void;
  /**
   * Drops the next chunk the server sends on any connection and destroys that
   * connection: the server has committed the request, the client never gets
   * the response. One-shot. The returned promise resolves when the cut has
   * happened, and stays pending if reset() or close() disarms it first.
   *
   * Over HTTP/2 the server also sends SETTINGS, PING and heartbeat frames, so
   * arm this when the next server bytes on the connection are the response.
   */
  cutOnNextResponse(): Promise<void>;
  /**
   * Cuts every connection, current and new, when it reaches `ageMs`
   * milliseconds since the proxy accepted it, as a load balancer or NAT with
   * a maximum connection lifetime does. A connection older than that now is
   * cut at once. Stays armed until reset().
   */
  cutAtAge(ageMs: number): void;
  /**
   * Accepts new connections and never connects them to the target, answers
   * nothing and discards what the client sends. Current connections keep
   * forwarding: combine with cutAll() or stall() to affect them too.
   */
  blackhole(): void;
  /** Returns to pass-through: no delay, no stall, no armed cut, no age limit, no blackhole. Blackholed connections are closed. */
  reset(): void;
  /** Returns a snapshot of the traffic counters. */
  stats(): FaultProxyStats;
  /** Stops listening, destroys every connection and resolves once the listener is closed. */
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);

/** Starts a pass-through proxy to `options.target` on 127.0.0.1 and an OS-chosen port. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const { host, port } = options.target;
  if (!LOOPBACK_HOSTS.has(host)) {
    throw new Error(
      `fault proxy target host ${JSON.stringify(host)} is not a loopback address; use 127.0.0.1 or ::1`,
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`fault proxy target port ${port} is invalid; expected an integer from 1 to 65535`);
  }

  const policy = passThroughPolicy();
  const stats = emptyStats();
  const connections = new Set<ProxiedConnection>();
  const blackholed = new Set<Socket>();

  const listener = {
    onForwarded(direction: "toServer" | "toClient", bytes: number) {
      if (direction === "toServer") stats.bytesToServer += bytes;
      else stats.bytesToClient += bytes;
    },
    onDropped(bytes: number) {
      stats.bytesDropped += bytes;
    },
    onCut() {
      stats.cuts += 1;
    },
    onClosed(connection: ProxiedConnection) {
      connections.delete(connection);
    },
  };

  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    stats.connectionsAccepted += 1;
    if (policy.blackhole) {
      holdInBlackhole(client, blackholed, stats);
      return;
    }
    connections.add(new ProxiedConnection(client, options.target, policy, listener));
  });
  const listenPort = await listenOnLoopback(server, "fault proxy");

  const refreshAll = () => {
    for (const connection of connections) connection.refresh();
  };

  return {
    host: "127.0.0.1",
    port: listenPort,
    url: `http://127.0.0.1:${listenPort}`,

    delay(ms) {
      if (!Number.isFinite(ms) || ms < 0) {
        throw new Error(`delay ${ms} ms is invalid; expected a finite number of milliseconds >= 0`);
      }
      policy.delayMs = ms;
    },
    stall() {
      policy.stalled = true;
      refreshAll();
    },
    resume() {
      policy.stalled = false;
      refreshAll();
    },
    cutAll() {
      for (const connection of [...connections]) connection.cut();
    },
    cutAfterResponseBytes(bytes) {
      if (!Number.isInteger(bytes) || bytes < 0) {
        throw new Error(`cutAfterResponseBytes(${bytes}) is invalid; expected an integer >= 0`);
      }
      policy.responseByteLimit = bytes;
      for (const connection of connections) connection.limitResponseBytes(bytes);
    },
    cutAtAge(ageMs) {
      if (!Number.isFinite(ageMs) || ageMs <= 0) {
        throw new Error(`cutAtAge(${ageMs}) is invalid; expected a finite number of milliseconds > 0`);
      }
      policy.maxConnectionAgeMs = ageMs;
      for (const connection of [...connections]) connection.limitAge(ageMs);
    },
    cutOnNextResponse() {
      return new Promise<void>((resolve) => {
        const armedBefore = policy.onNextResponse;
        policy.onNextResponse = () => {
          armedBefore?.();
          resolve();
        };
      });
    },
    blackhole() {
      policy.blackhole = true;
    },
    reset() {
      Object.assign(policy, passThroughPolicy());
      for (const connection of connections) {
        connection.limitResponseBytes(undefined);
        connection.limitAge(undefined);
      }
      for (const socket of [...blackholed]) socket.destroy();
      refreshAll();
    },
    stats() {
      return { ...stats, connectionsOpen: connections.size + blackholed.size };
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of [...connections]) connection.destroy();
      for (const socket of [...blackholed]) socket.destroy();
      await closed;
    },
  };
}

/** Keeps a socket open, reads and discards its bytes, and never writes to it. */
function holdInBlackhole(client: Socket, blackholed: Set<Socket>, stats: FaultProxyStats): void {
  blackholed.add(client);
  client.on("data", (chunk: Buffer) => {
    stats.bytesDropped += chunk.length;
  });
  client.on("error", () => {});
  client.on("close", () => blackholed.delete(client));
  client.resume();
}
