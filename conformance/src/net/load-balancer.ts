import { connect, createServer, type Socket } from "node:net";

import { listenOnLoopback } from "./loopback-listen.js";

/** A loopback address the balancer forwards to. */
export interface Backend {
  host: string;
  port: number;
}

/** Options of startLoadBalancer. */
export interface LoadBalancerOptions {
  /** The servers behind the balancer, in round-robin order. At least one. */
  backends: Backend[];
  /**
   * How long one connection attempt to a backend may take before the
   * balancer tries the next backend, in ms. Default 1,000: on loopback a
   * live server accepts at once and a dead one refuses at once, so only a
   * server that is stopped or swamped takes this long.
   */
  connectTimeoutMs?: number;
}

/** Counters of one backend since the balancer started. */
export interface BackendStats {
  port: number;
  /** Client connections forwarded to this backend. */
  connectionsForwarded: number;
  /** Forwarded connections not yet closed. */
  connectionsOpen: number;
  /** Connection attempts that failed or timed out, after which the next backend was tried. */
  connectFailures: number;
}

/** Counters of a balancer since it started. */
export interface LoadBalancerStats {
  connectionsAccepted: number;
  /** Client connections closed because no backend accepted them. */
  connectionsRejected: number;
  backends: BackendStats[];
}

/**
 * A round-robin TCP (layer 4) load balancer on 127.0.0.1 for tests: each new
 * client connection goes to the next backend in turn, and a backend whose
 * connection attempt fails is skipped for that client. Bytes pass through
 * unchanged, so one HTTP/2 connection and every stream on it stay on one
 * backend, as behind a production L4 balancer.
 */
export interface LoadBalancer {
  /** Always "127.0.0.1". */
  readonly host: string;
  /** The port the balancer listens on, chosen by the OS. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`, for HTTP clients. */
  readonly url: string;
  /** Returns a snapshot of the counters. */
  stats(): LoadBalancerStats;
  /** Stops listening, destroys every forwarded connection and resolves once the listener is closed. */
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);

/** Starts a balancer over `options.backends` on 127.0.0.1 and an OS-chosen port. */
export async function startLoadBalancer(options: LoadBalancerOptions): Promise<LoadBalancer> {
  const backends = checkBackends(options.backends);
  const connectTimeoutMs = options.connectTimeoutMs ?? 1_000;
  if (!Number.isFinite(connectTimeoutMs) || connectTimeoutMs <= 0) {
    throw new Error(`connectTimeoutMs ${connectTimeoutMs} is invalid; expected a positive number of milliseconds`);
  }

  const stats: LoadBalancerStats = {
    connectionsAccepted: 0,
    connectionsRejected: 0,
    backends: backends.map((backend) => ({ port: backend.port, connectionsForwarded: 0, connectionsOpen: 0, connectFailures: 0 })),
  };
  const sockets = new Set<Socket>();
  let nextBackend = 0;
  let closing = false;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    stats.connectionsAccepted += 1;
    track(client);
    client.on("error", () => {});
    const first = nextBackend;
    nextBackend = (nextBackend + 1) % backends.length;
    void forward(client, first);
  });

  /** Tries the backends from index `first` on, each once, and pipes the client to the first that accepts. */
  const forward = async (client: Socket, first: number) => {
    for (let offset = 0; offset < backends.length; offset++) {
      const index = (first + offset) % backends.length;
      const backendStats = stats.backends[index]!;
      const upstream = await connectWithin(backends[index]!, connectTimeoutMs);
      if (upstream === undefined) {
        backendStats.connectFailures += 1;
        continue;
      }
      if (closing || client.destroyed) {
        upstream.destroy();
        return;
      }
      track(upstream);
      backendStats.connectionsForwarded += 1;
      backendStats.connectionsOpen += 1;
      pipePair(client, upstream, () => (backendStats.connectionsOpen -= 1));
      return;
    }
    stats.connectionsRejected += 1;
    client.destroy();
  };

  const port = await listenOnLoopback(server, "load balancer");

  return {
    host: "127.0.0.1",
    port,
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ ...stats, backends: stats.backends.map((backend) => ({ ...backend })) }),
    async close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of [...sockets]) socket.destroy();
      await closed;
    },
  };
}

function checkBackends(backends: readonly Backend[]): Backend[] {
  if (backends.length === 0) throw new Error("load balancer needs at least one backend");
  for (const { host, port } of backends) {
    if (!LOOPBACK_HOSTS.has(host)) {
      throw new Error(`load balancer backend host ${JSON.stringify(host)} is not a loopback address; use 127.0.0.1 or ::1`);
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`load balancer backend port ${port} is invalid; expected an integer from 1 to 65535`);
    }
  }
  return backends.map((backend) => ({ ...backend }));
}

/** Resolves with the connected socket, or undefined when the attempt fails or takes longer than `timeoutMs`. */
function connectWithin(backend: Backend, timeoutMs: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: backend.host, port: backend.port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(undefined);
    });
  });
}

/**
 * Pipes the two sockets into each other; an end of input on one side is
 * passed on as an end of output on the other. When either socket fails or
 * closes, both are destroyed, so a backend that dies takes its clients'
 * connections with it and the clients reconnect through the balancer.
 */
function pipePair(client: Socket, upstream: Socket, onClosed: () => void): void {
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  let closed = false;
  const closeBoth = () => {
    if (closed) return;
    closed = true;
    client.destroy();
    upstream.destroy();
    onClosed();
  };
  for (const socket of [client, upstream]) {
    socket.on("error", closeBoth);
    socket.on("close", closeBoth);
  }
  client.pipe(upstream);
  upstream.pipe(client);
}
