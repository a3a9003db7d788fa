/**
 * One loopback port that serves HTTP/1.1 and cleartext HTTP/2 (h2c with
 * prior knowledge) with the same request handler, the way the reference
 * server does: Node clients speak h2c, browsers on plain http speak
 * HTTP/1.1.
 *
 * Node 20's http2.createServer ignores allowHTTP1 without TLS, so each
 * connection is routed by its first 3 bytes: "PRI" starts the HTTP/2 client
 * preface (RFC 9113, section 3.4), anything else is HTTP/1.1.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

import { listenOnLoopback } from "./loopback-listen.js";

export type DualRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type DualResponse = http.ServerResponse | http2.Http2ServerResponse;
export type DualHandler = (request: DualRequest, response: DualResponse) => void;

/** A listening port and the connections it accepted. */
export interface DualListener {
  readonly port: number;
  /** Client connections not yet closed. */
  readonly openConnections: number;
  /** Destroys every client connection now; the port keeps accepting new ones. */
  destroyConnections(): void;
  /** Stops listening, destroys every connection and resolves once the port is closed. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 and an OS-chosen port. */
export async function listenHttp1AndH2c(handler: DualHandler): Promise<DualListener> {
  const h1 = http.createServer(handler as http.RequestListener);
  const h2 = http2.createServer(handler as (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => void);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.on("error", () => session.destroy());
  });

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const route = () => {
      const head = socket.read(3) as Buffer | null;
      if (head === null && !socket.readableEnded) {
        socket.once("readable", route);
        return;
      }
      if (head !== null) socket.unshift(head);
      (head?.toString("latin1") === "PRI" ? h2 : h1).emit("connection", socket);
    };
    socket.once("readable", route);
  });

  const port = await listenOnLoopback(tcp, "RPC proxy");

  const destroyConnections = () => {
    for (const session of [...sessions]) session.destroy();
    for (const socket of [...sockets]) socket.destroy();
  };
  return {
    port,
    get openConnections() {
      return sockets.size;
    },
    destroyConnections,
    async close() {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      destroyConnections();
      await closed;
    },
  };
}
