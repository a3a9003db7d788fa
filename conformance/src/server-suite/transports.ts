/**
 * Client transports for each wire protocol, as the suite's users make calls.
 *
 * - connect: Connect with JSON bodies over HTTP/1.1, as a browser sends
 *   with connect-web's defaults.
 * - grpc: gRPC with binary bodies over HTTP/2, as native clients send.
 * - grpc-web: gRPC-Web with binary bodies over HTTP/1.1, as a browser sends.
 *
 * So every case runs over both HTTP versions and both body codecs; the
 * transport case adds the combinations these leave out.
 */
import { setTimeout as sleep } from "node:timers/promises";

import { Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ErrorDetailSchema, ErrorReason } from "@chatwire/gen";

import type { WireProtocol } from "../report/types.js";

/** The protocol, HTTP version and body codec of a transport. */
export interface TransportShape {
  protocol: WireProtocol;
  httpVersion: "1.1" | "2";
  binary: boolean;
}

/** The shape each protocol's users call with; see the file comment. */
export const DEFAULT_SHAPES: Readonly<Record<WireProtocol, TransportShape>> = {
  connect: { protocol: "connect", httpVersion: "1.1", binary: false },
  grpc: { protocol: "grpc", httpVersion: "2", binary: true },
  "grpc-web": { protocol: "grpc-web", httpVersion: "1.1", binary: true },
};

/** Rate-limited calls are retried at most this often before the error is passed on. */
const MAX_RATE_LIMIT_RETRIES = 20;
/** Upper bound for one wait before a retry, in ms, whatever retry_after_ms is. */
const MAX_RATE_LIMIT_WAIT_MS = 2_000;

/** Options of createShapedTransport. */
export interface ShapedTransportOptions {
  /**
   * Send every HTTP/1.1 request on a TCP connection of its own, closed after
   * the response, instead of reusing the process's keep-alive connections.
   * HTTP/2 transports always open one session of their own. Default false.
   */
  connectionPerRequest?: boolean;
}

/** Creates a transport of `shape` to `baseUrl` with `interceptors`. */
export function createShapedTransport(
  baseUrl: string,
  shape: TransportShape,
  interceptors: Interceptor[],
  options: ShapedTransportOptions = {},
): Transport {
  // A short idle timeout lets HTTP/2 sessions close soon after a case, so
  // they hold no server resources into the next one.
  const idleConnectionTimeoutMs = 1_000;
  // `agent: false` gives each request a one-off agent without keep-alive.
  const http =
    shape.httpVersion === "2"
      ? { httpVersion: "2" as const, idleConnectionTimeoutMs }
      : { httpVersion: "1.1" as const, ...(options.connectionPerRequest === true ? { nodeOptions: { agent: false } } : {}) };
  switch (shape.protocol) {
    case "connect":
      return createConnectTransport({ baseUrl, ...http, useBinaryFormat: shape.binary, interceptors });
    case "grpc":
      if (shape.httpVersion !== "2") throw new RangeError("gRPC runs over HTTP/2 only");
      return createGrpcTransport({ baseUrl, useBinaryFormat: shape.binary, interceptors, idleConnectionTimeoutMs });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, ...http, useBinaryFormat: shape.binary, interceptors });
  }
}

/** Sets `Authorization: Bearer <token>` from `getToken`, or sends no header when it returns null. */
export function bearerInterceptor(getToken: () => Promise<string | null>): Interceptor {
  return (next) => async (request) => {
    const token = await getToken();
    if (token !== null) request.header.set("Authorization", `Bearer ${token}`);
    return next(request);
  };
}

/**
 * Retries a unary call rejected with RATE_LIMITED after its retry_after_ms.
 * Such a call had no effect on the server, so repeating it is safe.
 */
export function rateLimitRetryInterceptor(signal: AbortSignal): Interceptor {
  return (next) => async (request) => {
    if (request.stream) return next(request);
    for (let attempt = 0; ; attempt++) {
      try {
        return await next(request);
      } catch (error) {
        const retryAfterMs = rateLimitedRetryAfter(error);
        if (retryAfterMs === undefined || attempt >= MAX_RATE_LIMIT_RETRIES) throw error;
        await sleep(Math.min(Math.max(retryAfterMs, 10), MAX_RATE_LIMIT_WAIT_MS), undefined, { signal });
      }
    }
  };
}

function rateLimitedRetryAfter(error: unknown): number | undefined {
  if (!(error instanceof ConnectError) || error.code !== Code.ResourceExhausted) return undefined;
  const detail = error.findDetails(ErrorDetailSchema)[0];
  return detail?.reason === ErrorReason.RATE_LIMITED ? detail.retryAfterMs : undefined;
}
