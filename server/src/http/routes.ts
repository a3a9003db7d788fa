/**
 * Plain HTTP around the RPC adapter: CORS for browsers, GET /healthz,
 * GET /metrics and, in development mode, GET /dev/token.
 */
import type http from "node:http";
import type http2 from "node:http2";
import type { Registry } from "prom-client";
import type { RequestHandler } from "./listener.js";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

export interface RoutesOptions {
  rpc: RequestHandler;
  registry: Registry;
  draining(): boolean;
  /** Issues a development token, or undefined outside development mode. */
  devToken: ((query: URLSearchParams) => Promise<{ status: number; body: unknown }>) | undefined;
  onError(error: unknown, path: string): void;
}

const EXPOSED_HEADERS = "grpc-status, grpc-message, grpc-status-details-bin, connect-protocol-version";

function applyCors(request: Request, response: Response): boolean {
  const origin = request.headers.origin;
  if (typeof origin !== "string") return false;
  response.setHeader("access-control-allow-origin", origin);
  response.setHeader("vary", "origin");
  response.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
  if (request.method !== "OPTIONS") return false;
  response.setHeader("access-control-allow-methods", "POST, GET, OPTIONS");
  const requested = request.headers["access-control-request-headers"];
  if (typeof requested === "string") response.setHeader("access-control-allow-headers", requested);
  response.setHeader("access-control-max-age", "600");
  response.writeHead(204);
  response.end();
  return true;
}

function send(response: Response, status: number, contentType: string, body: string): void {
  response.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  response.end(body);
}

export function createRoutes(options: RoutesOptions): RequestHandler {
  return (request, response) => {
    if (applyCors(request, response)) return;
    const url = new URL(request.url ?? "/", "http://localhost");
    if (request.method !== "GET" || !["/healthz", "/metrics", "/dev/token"].includes(url.pathname)) {
      options.rpc(request, response);
      return;
    }
    void serveGet(options, url, response).catch((error: unknown) => {
      options.onError(error, url.pathname);
      if (!response.headersSent) send(response, 500, "text/plain; charset=utf-8", "internal error\n");
    });
  };
}

async function serveGet(options: RoutesOptions, url: URL, response: Response): Promise<void> {
  switch (url.pathname) {
    case "/healthz":
      if (options.draining()) send(response, 503, "text/plain; charset=utf-8", "shutting down\n");
      else send(response, 200, "text/plain; charset=utf-8", "ok");
      return;
    case "/metrics":
      send(response, 200, options.registry.contentType, await options.registry.metrics());
      return;
    default: {
      if (options.devToken === undefined) {
        send(response, 404, "text/plain; charset=utf-8", "not found: /dev/token exists in development mode only\n");
        return;
      }
      const result = await options.devToken(url.searchParams);
      send(response, result.status, "application/json", `${JSON.stringify(result.body)}\n`);
    }
  }
}
