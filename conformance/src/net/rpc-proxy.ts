import http2 from "node:http2";

import { listenHttp1AndH2c, type DualRequest } from "./dual-listener.js";
import { ProxiedCall } from "./rpc-call.js";
import { matchesProcedure, RpcRules } from "./rpc-rules.js";

/** Options of startRpcProxy. */
export interface RpcProxyOptions {
  /** The server the proxy forwards to: a loopback host and a port that serves HTTP/2 (h2c). */
  target: { host: string; port: number };
}

/** Traffic counters of an RPC proxy since it started. */
export interface RpcProxyStats {
  /** Calls started, per request path ("/chatwire.v1.ChatService/Sync"). */
  calls: Record<string, number>;
  /** Calls not yet finished, per request path; paths without open calls are left out. */
  openCalls: Record<string, number>;
  /** Client connections not yet closed. */
  connectionsOpen: number;
  /** Responses read from the server and then failed on purpose (dropResponses). */
  responsesDropped: number;
  /** Messages of streaming responses left out on purpose (dropStreamMessages). */
  messagesDropped: number;
}

/**
 * An HTTP proxy on 127.0.0.1 that understands RPC calls and fails chosen
 * ones on command, where a TCP proxy can only fail a whole connection that
 * HTTP/2 shares among all of a client's calls.
 *
 * Clients connect with HTTP/2 (h2c with prior knowledge) or HTTP/1.1; the
 * proxy forwards every call over HTTP/2 to the server, one upstream session
 * per client connection. A procedure is named by its path
 * ("/chatwire.v1.ChatService/SendMessage") or its method name alone
 * ("SendMessage"). Controls combine until reset().
 */
export interface RpcProxy {
  /** Always "127.0.0.1". */
  readonly host: string;
  /** The port the proxy listens on, chosen by the OS. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`, for RPC clients. */
  readonly url: string;

  /**
   * Forwards the next `count` calls of `procedure` (default 1) and, once the
   * server's whole response is in, fails the call instead of forwarding it:
   * the server has done the work, the client never hears of it. Resolves
   * with the server's HTTP status of each dropped response (0 when the
   * server's response broke off) once `count` were dropped.
   */
  dropResponses(procedure: string, count?: number): Promise<number[]>;
  /**
   * Holds the response of the next `count` calls of `procedure` (default
   * every call until reset()) for `ms` milliseconds after the server's
   * response starts, then forwards it. A client that gives up meanwhile cancels
   * the call; the server has already done its work.
   */
  delayResponses(procedure: string, ms: number, count?: number): void;
  /**
   * Forwards calls of `procedure` started from now on to the server and
   * sends their clients nothing back, no headers and no bytes, as a proxy
   * that buffers a response until it ends does with a stream. Until reset().
   */
  blockResponses(procedure: string): void;
  /**
   * Forwards nothing more of the responses of the calls of `procedure` open
   * now. The calls stay open, and their connections go on carrying other
   * calls. Returns how many calls it silenced.
   */
  silenceOpenCalls(procedure: string): number;
  /**
   * Leaves out the next `count` messages (default 1) of the streaming
   * responses of `procedure`, on open and new calls, for which `match`
   * returns true. `match` gets the message's protobuf bytes, decompressed.
   * Resolves once `count` messages were dropped.
   */
  dropStreamMessages(procedure: string, match: (message: Uint8Array) => boolean, count?: number): Promise<void>;
  /**
   * Holds each message of the streaming responses of `procedure`, on open
   * and new calls, `ms` milliseconds before forwarding it, in order. 0
   * removes the delay.
   */
  delayStreamMessages(procedure: string, ms: number): void;
  /** Closes every client connection now, failing the calls on them. New connections are not affected. */
  cutAll(): void;
  /** Removes every rule; calls silenced or blocked before stay so. */
  reset(): void;
  stats(): RpcProxyStats;
  /** Stops listening, ends every call and connection, and resolves once the port is closed. */
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);

/** Starts an RPC proxy to `options.target` on 127.0.0.1 and an OS-chosen port. */
export async function startRpcProxy(options: RpcProxyOptions): Promise<RpcProxy> {
  const { host, port } = options.target;
  if (!LOOPBACK_HOSTS.has(host)) {
    throw new Error(`RPC proxy target host ${JSON.stringify(host)} is not a loopback address; use 127.0.0.1 or ::1`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`RPC proxy target port ${port} is invalid; expected an integer from 1 to 65535`);
  }
  const targetUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const rules = new RpcRules();
  const open = new Set<ProxiedCall>();
  const calls: Record<string, number> = {};
  let responsesDropped = 0;
  let messagesDropped = 0;

  // One upstream session per client connection, so a client's calls share
  // a connection to the server as they would without the proxy.
  const upstreams = new WeakMap<object, http2.ClientHttp2Session>();
  const liveUpstreams = new Set<http2.ClientHttp2Session>();
  const upstreamFor = (request: DualRequest): http2.ClientHttp2Session => {
    const connection = request instanceof http2.Http2ServerRequest ? request.stream.session : request.socket;
    const key: object = connection ?? request;
    let session = upstreams.get(key);
    if (session === undefined || session.closed || session.destroyed) {
      const created = http2.connect(targetUrl);
      created.on("error", () => created.destroy());
      liveUpstreams.add(created);
      created.once("close", () => liveUpstreams.delete(created));
      const closeUpstream = () => created.close();
      (connection as NodeJS.EventEmitter | undefined)?.once("close", closeUpstream);
      created.once("close", () => (connection as NodeJS.EventEmitter | undefined)?.off("close", closeUpstream));
      upstreams.set(key, created);
      session = created;
    }
    return session;
  };

  const listener = await listenHttp1AndH2c((request, response) => {
    const call = new ProxiedCall(request, response, {
      rules,
      upstream: upstreamFor,
      authority: `${host}:${port}`,
      onMessageDropped: () => (messagesDropped += 1),
      onResponseDropped: () => (responsesDropped += 1),
      onFinished: (finished) => open.delete(finished),
    });
    calls[call.path] = (calls[call.path] ?? 0) + 1;
    open.add(call);
  });

  return {
    host: "127.0.0.1",
    port: listener.port,
    url: `http://127.0.0.1:${listener.port}`,

    dropResponses(procedure, count = 1) {
      checkCount("dropResponses", count);
      return rules.addDrop(procedure, count);
    },
    delayResponses(procedure, ms, count = Number.POSITIVE_INFINITY) {
      checkMs("delayResponses", ms);
      if (count !== Number.POSITIVE_INFINITY) checkCount("delayResponses", count);
      rules.addDelay(procedure, ms, count);
    },
    blockResponses(procedure) {
      rules.addBlock(procedure);
    },
    silenceOpenCalls(procedure) {
      let silenced = 0;
      for (const call of open) {
        if (!matchesProcedure(procedure, call.path)) continue;
        call.silence();
        silenced += 1;
      }
      return silenced;
    },
    dropStreamMessages(procedure, match, count = 1) {
      checkCount("dropStreamMessages", count);
      return rules.addMessageDrop(procedure, match, count);
    },
    delayStreamMessages(procedure, ms) {
      checkMs("delayStreamMessages", ms);
      rules.setMessageDelay(procedure, ms);
    },
    cutAll() {
      listener.destroyConnections();
    },
    reset() {
      rules.reset();
    },
    stats() {
      const openCalls: Record<string, number> = {};
      for (const call of open) openCalls[call.path] = (openCalls[call.path] ?? 0) + 1;
      return { calls: { ...calls }, openCalls, connectionsOpen: listener.openConnections, responsesDropped, messagesDropped };
    },
    async close() {
      for (const call of [...open]) call.destroy();
      await listener.close();
      for (const session of liveUpstreams) session.destroy();
    },
  };
}

function checkCount(control: string, count: number): void {
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`${control} count ${count} is invalid; expected a whole number >= 1`);
  }
}

function checkMs(control: string, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new Error(`${control} delay ${ms} ms is invalid; expected a finite number of milliseconds >= 0`);
  }
}
