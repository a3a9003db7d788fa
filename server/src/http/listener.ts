/**
 * One TCP port for HTTP/1.1 and cleartext HTTP/2 (h2c).
 *
 * Node's http2.createServer ignores allowHTTP1 without TLS (Node 20), so each
 * connection is routed by its first 3 bytes: "PRI" starts the HTTP/2 client
 * preface (RFC 9113 section 3.4), anything else is HTTP/1.1. The server keeps
 * every socket and HTTP/2 session, because http2 server.close() waits for
 * idle client sessions forever otherwise. Slow and idle connections are
 * closed by the timeouts in timeouts.ts.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { guardHttp2Session, guardRequestBody, type ConnectionTimeouts } from "./timeouts.js";

export type RequestHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface Listener {
  /** The bound port. */
  port: number;
  /** Stops accepting connections; open ones keep working. */
  stopAccepting(): void;
  /**
   * Closes connections: idle ones at once, HTTP/2 sessions after their open
   * streams end, and whatever is still open after graceMs by force.
   */
  closeConnections(graceMs: number): Promise<void>;
}

export async function listen(
  handler: RequestHandler,
  port: number,
  host: string,
  timeouts: ConnectionTimeouts,
): Promise<Listener> {
  const guarded: RequestHandler = (request, response) => {
    guardRequestBody(request, response, timeouts);
    handler(request, response);
  };
  const h1 = http.createServer(guarded as http.RequestListener);
  const h2 = http2.createServer(guarded as (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => void);
  const sockets = new Set<net.Socket>();
  // Deadlines for complete request headers on HTTP/1.1 sockets; see ConnectionTimeouts.headersTimeoutMs.
  const headerDeadlines = new Map<net.Socket, NodeJS.Timeout>();
  const clearHeaderDeadline = (socket: net.Socket) => {
    clearTimeout(headerDeadlines.get(socket));
    headerDeadlines.delete(socket);
  };
  const startHeaderDeadline = (socket: net.Socket) => {
    clearHeaderDeadline(socket);
    headerDeadlines.set(socket, setTimeout(() => socket.destroy(), timeouts.headersTimeoutMs));
  };
  // HTTP/1.1 sockets with a request in progress. http.Server tracks idle
  // connections only for sockets it accepted itself, so closeIdleConnections()
  // does nothing here and idle keep-alive sockets are closed by hand.
  const h1Sockets = new Set<net.Socket>();
  const busy = new Map<net.Socket, number>();
  h1.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    const socket = request.socket;
    clearHeaderDeadline(socket);
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    response.once("close", () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) {
        busy.set(socket, left);
        return;
      }
      busy.delete(socket);
      // The next request on a keep-alive connection gets the same deadline.
      if (!socket.destroyed) startHeaderDeadline(socket);
    });
  });
  const closeIdleH1 = () => {
    for (const socket of h1Sockets) if (!busy.has(socket)) socket.destroy();
  };
  const sessions = new Set<http2.ServerHttp2Session>();
  // h2.emit("connection") creates the session and emits "session"
  // synchronously, which hands the socket's deadline over to the session.
  let routedDeadline: NodeJS.Timeout | undefined;
  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    guardHttp2Session(session, routedDeadline, timeouts);
    routedDeadline = undefined;
  });

  // While draining, finished HTTP/1.1 responses close their connection.
  let draining = false;
  h1.on("request", (_request: http.IncomingMessage, response: http.ServerResponse) => {
    if (draining) response.shouldKeepAlive = false;
  });

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    // One deadline covers the 3-byte sniff and the rest of the request head.
    const deadline = setTimeout(() => socket.destroy(), timeouts.headersTimeoutMs);
    socket.once("close", () => clearTimeout(deadline));
    const route = () => {
      const head = socket.read(3) as Buffer | null;
      if (head === null && !socket.readableEnded) {
        socket.once("readable", route);
        return;
      }
      if (head !== null) socket.unshift(head);
      if (head?.toString("latin1") === "PRI") {
        routedDeadline = deadline;
        h2.emit("connection", socket);
        routedDeadline = undefined;
      } else {
        h1Sockets.add(socket);
        headerDeadlines.set(socket, deadline);
        socket.once("close", () => {
          h1Sockets.delete(socket);
          clearHeaderDeadline(socket);
        });
        h1.emit("connection", socket);
      }
    };
    socket.once("readable", route);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    stopAccepting() {
      draining = true;
      server.close();
    },
    async closeConnections(graceMs) {
      closeIdleH1();
      for (const session of sessions) session.close();
      const deadline = Date.now() + graceMs;
      while (sockets.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        closeIdleH1();
      }
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}
