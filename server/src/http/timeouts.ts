/**
 * Timeouts for connections of the one-port listener.
 *
 * Node's http.Server sets up its headersTimeout and requestTimeout checks
 * when it starts listening, and the HTTP/1.1 server here never listens: on
 * Node 20.20 a socket passed in with emit("connection") that sent partial
 * headers stayed open past both. The listener therefore uses its own timers.
 * keepAliveTimeout does apply to such sockets.
 */
import type http from "node:http";
import http2 from "node:http2";

export interface ConnectionTimeouts {
  /**
   * Deadline in ms from accepting a connection until it has sent complete
   * HTTP/1.1 request headers or the HTTP/2 preface and SETTINGS. On an
   * HTTP/1.1 keep-alive connection it restarts when a response ends.
   */
  headersTimeoutMs: number;
  /** Deadline in ms from complete request headers until the request body has arrived. */
  requestTimeoutMs: number;
  /** How long an HTTP/2 session without open streams may stay silent, in ms, before it is closed. */
  idleTimeoutMs: number;
}

/**
 * Closes an HTTP/2 session that does not send its SETTINGS by settingsDeadline, or
 * that stays silent without open streams for idleTimeoutMs. A session with
 * an open stream (a Subscribe or a long-poll Sync) is never closed as idle.
 */
export function guardHttp2Session(
  session: http2.ServerHttp2Session,
  settingsDeadline: NodeJS.Timeout | undefined,
  timeouts: ConnectionTimeouts,
): void {
  if (settingsDeadline !== undefined) {
    session.once("remoteSettings", () => clearTimeout(settingsDeadline));
    session.once("close", () => clearTimeout(settingsDeadline));
  }

  let openStreams = 0;
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    openStreams++;
    stream.once("close", () => openStreams--);
  });
  const onIdle = () => {
    // The session timer fires after idleTimeoutMs without frames in either
    // direction. Heartbeats keep a Subscribe session busy, and a session with
    // a quiet open stream stays too, with the timer armed again.
    if (openStreams > 0) session.setTimeout(timeouts.idleTimeoutMs, onIdle);
    else session.close();
  };
  session.setTimeout(timeouts.idleTimeoutMs, onIdle);
}

/**
 * Cancels a request whose body has not arrived within requestTimeoutMs of
 * its headers: an HTTP/1.1 connection is destroyed, an HTTP/2 stream reset.
 */
export function guardRequestBody(
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
  timeouts: ConnectionTimeouts,
): void {
  if (request.complete) return;
  const timer = setTimeout(() => {
    if ("stream" in request) request.stream.close(http2.constants.NGHTTP2_CANCEL);
    else request.socket.destroy();
  }, timeouts.requestTimeoutMs);
  request.once("end", () => clearTimeout(timer));
  response.once("close", () => clearTimeout(timer));
}
