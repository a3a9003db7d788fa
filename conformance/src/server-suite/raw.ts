/**
 * Raw requests: a unary call whose body the case writes byte for byte, for
 * bodies no client library would send (malformed protobuf or JSON, invalid
 * UTF-8, unknown fields). The response is read the way each protocol
 * reports errors: the Connect JSON error body, or the `grpc-status`,
 * `grpc-message` and `grpc-status-details-bin` headers or trailers.
 *
 * Connect and gRPC-Web go over HTTP/1.1 (fetch), gRPC over HTTP/2.
 */
import http2 from "node:http2";

import { Code, ConnectError } from "@connectrpc/connect";
import { errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { ErrorDetailSchema, type ErrorDetail } from "@chatwire/gen";

import type { WireProtocol } from "../report/types.js";
import { codeName } from "./assertions.js";

/** A unary request with a hand-made body. */
export interface RawRequest {
  /** "ServiceName/Method" under chatwire.v1, such as "ChatService/SendMessage". */
  method: string;
  codec: "proto" | "json";
  /** The serialized message; the envelope of gRPC and gRPC-Web is added here. */
  body: Uint8Array | string;
  /** The bearer token, or null for none. */
  token: string | null;
  signal?: AbortSignal;
}

/** The server's response to a raw request. */
export interface RawOutcome {
  /** "ok", or the error's code name ("invalid_argument"). */
  code: string;
  /** The error message, or "" for ok. */
  message: string;
  detail: ErrorDetail | undefined;
  /** The HTTP status of the response. */
  httpStatus: number;
}

/** Posts `request` over `protocol` to `baseUrl`. */
export async function postRaw(baseUrl: string, protocol: WireProtocol, request: RawRequest): Promise<RawOutcome> {
  const body = typeof request.body === "string" ? new TextEncoder().encode(request.body) : request.body;
  const path = `/chatwire.v1.${request.method}`;
  switch (protocol) {
    case "connect":
      return postConnect(baseUrl, path, request, body);
    case "grpc":
      return postGrpc(baseUrl, path, request, envelope(body));
    case "grpc-web":
      return postGrpcWeb(baseUrl, path, request, envelope(body));
  }
}

/** Frames one message as gRPC and gRPC-Web do: flags byte 0, then the length as 4 bytes big-endian. */
function envelope(message: Uint8Array): Uint8Array {
  const framed = new Uint8Array(5 + message.byteLength);
  new DataView(framed.buffer).setUint32(1, message.byteLength);
  framed.set(message, 5);
  return framed;
}

function outcomeOf(error: ConnectError | undefined, httpStatus: number): RawOutcome {
  if (error === undefined) return { code: "ok", message: "", detail: undefined, httpStatus };
  return {
    code: codeName(error.code),
    message: error.rawMessage,
    detail: error.findDetails(ErrorDetailSchema)[0],
    httpStatus,
  };
}

function authorization(token: string | null): Record<string, string> {
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

async function postConnect(baseUrl: string, path: string, request: RawRequest, body: Uint8Array): Promise<RawOutcome> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: {
      "content-type": `application/${request.codec}`,
      "connect-protocol-version": "1",
      ...authorization(request.token),
    },
    body,
    signal: request.signal,
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (response.status === 200) return outcomeOf(undefined, 200);
  const fallback = new ConnectError(`HTTP ${response.status} without a Connect error body`, Code.Unknown);
  return outcomeOf(errorFromJsonBytes(bytes, response.headers, fallback), response.status);
}

async function postGrpcWeb(baseUrl: string, path: string, request: RawRequest, body: Uint8Array): Promise<RawOutcome> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: {
      "content-type": `application/grpc-web+${request.codec}`,
      "x-grpc-web": "1",
      ...authorization(request.token),
    },
    body,
    signal: request.signal,
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  // A trailers-only response carries the status in its headers.
  if (response.headers.has("grpc-status")) {
    return outcomeOf(findTrailerError(response.headers), response.status);
  }
  let offset = 0;
  while (offset + 5 <= bytes.byteLength) {
    const flags = bytes[offset] ?? 0;
    const length = new DataView(bytes.buffer, bytes.byteOffset + offset + 1, 4).getUint32(0);
    const data = bytes.subarray(offset + 5, offset + 5 + length);
    offset += 5 + length;
    if ((flags & trailerFlag) === trailerFlag) {
      return outcomeOf(findTrailerError(trailerParse(data)), response.status);
    }
  }
  const missing = new ConnectError(`gRPC-Web response (HTTP ${response.status}) has no trailer frame`, Code.Unknown);
  return outcomeOf(missing, response.status);
}

function postGrpc(baseUrl: string, path: string, request: RawRequest, body: Uint8Array): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    const fail = (error: Error) => {
      session.destroy();
      reject(error);
    };
    session.once("error", fail);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": request.codec === "proto" ? "application/grpc" : "application/grpc+json",
      te: "trailers",
      ...authorization(request.token),
    });
    const onAbort = () => fail(new Error("the raw gRPC request was aborted"));
    request.signal?.addEventListener("abort", onAbort, { once: true });
    const status = new Headers();
    let httpStatus = 0;
    const collect = (headers: http2.IncomingHttpHeaders) => {
      for (const [name, value] of Object.entries(headers)) {
        if (name.startsWith(":") || value === undefined) continue;
        status.set(name, Array.isArray(value) ? value.join(", ") : String(value));
      }
    };
    stream.on("response", (headers) => {
      httpStatus = Number(headers[":status"] ?? 0);
      collect(headers);
    });
    stream.on("trailers", collect);
    stream.on("data", () => {});
    stream.once("error", fail);
    stream.once("close", () => {
      request.signal?.removeEventListener("abort", onAbort);
      session.close();
      if (!status.has("grpc-status")) {
        resolve(outcomeOf(new ConnectError(`gRPC response (HTTP ${httpStatus}) has no grpc-status`, Code.Unknown), httpStatus));
        return;
      }
      resolve(outcomeOf(findTrailerError(status), httpStatus));
    });
    stream.end(body);
  });
}
