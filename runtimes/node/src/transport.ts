import type { Interceptor, Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";

export interface NodeTransportOptions {
  /** The chatwire server's address, such as "http://127.0.0.1:8080". */
  baseUrl: string;
  /**
   * The RPC protocol. Default "connect", which every chatwire server serves
   * and which works over both HTTP versions. "grpc" is for gRPC servers and
   * proxies and needs HTTP/2, because gRPC sends its status in HTTP trailers.
   * "grpc-web" is for servers behind a gRPC-Web proxy.
   */
  protocol?: "connect" | "grpc" | "grpc-web";
  /**
   * Default "2": one connection carries every call and the subscribe stream.
   * Use "1.1" for a server or proxy that serves only HTTP/1.1, as a server
   * built for browsers may: a browser cannot speak HTTP/2 without TLS, so a
   * plain-http endpoint for browsers often accepts only HTTP/1.1.
   */
  httpVersion?: "2" | "1.1";
  /**
   * How long an HTTP/2 connection may stay open with no call on it, in
   * milliseconds. Default 30,000. A short timeout closes the connection soon
   * after the client stops (or is moved to the background), so the server
   * can shut down without waiting for it and no idle socket lingers.
   */
  idleConnectionTimeoutMs?: number;
  /** Interceptors run on every call, in order. */
  interceptors?: Interceptor[];
}

const defaultIdleConnectionTimeoutMs = 30_000;

/** Creates a Connect transport for Node.js that talks to a chatwire server. */
export function createNodeTransport(options: NodeTransportOptions): Transport {
  const protocol = options.protocol ?? "connect";
  const httpVersion = options.httpVersion ?? "2";
  const idleConnectionTimeoutMs = options.idleConnectionTimeoutMs ?? defaultIdleConnectionTimeoutMs;
  const interceptors = options.interceptors ?? [];

  if (!Number.isFinite(idleConnectionTimeoutMs) || idleConnectionTimeoutMs <= 0) {
    throw new Error(
      `idleConnectionTimeoutMs is ${idleConnectionTimeoutMs}; use a positive number of milliseconds`,
    );
  }
  if (httpVersion !== "2" && httpVersion !== "1.1") {
    throw new Error(`httpVersion is "${String(httpVersion)}"; use "2" or "1.1"`);
  }

  switch (protocol) {
    case "connect":
      return httpVersion === "2"
        ? createConnectTransport({ baseUrl: options.baseUrl, httpVersion, idleConnectionTimeoutMs, interceptors })
        : createConnectTransport({ baseUrl: options.baseUrl, httpVersion, interceptors });
    case "grpc":
      if (httpVersion !== "2") {
        throw new Error(
          'protocol "grpc" needs httpVersion "2" because gRPC carries its status in HTTP/2 trailers; ' +
            'use protocol "connect" or "grpc-web" over HTTP/1.1',
        );
      }
      return createGrpcTransport({ baseUrl: options.baseUrl, idleConnectionTimeoutMs, interceptors });
    case "grpc-web":
      return httpVersion === "2"
        ? createGrpcWebTransport({ baseUrl: options.baseUrl, httpVersion, idleConnectionTimeoutMs, interceptors })
        : createGrpcWebTransport({ baseUrl: options.baseUrl, httpVersion, interceptors });
    default:
      throw new Error(
        `protocol is "${String(protocol satisfies never)}"; use "connect", "grpc" or "grpc-web"`,
      );
  }
}
