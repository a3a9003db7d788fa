/**
 * One call through the RPC proxy. The request goes to the server unchanged.
 * The response comes back through a queue of steps (head, body bytes,
 * trailers, end), which the proxy's rules can hold back, thin out or stop.
 *
 * A failed call is failed the way a network fails it: on HTTP/2 the
 * client's stream is reset, on HTTP/1.1 the client's connection is closed.
 */
import http2 from "node:http2";

import type { DualRequest, DualResponse } from "./dual-listener.js";
import { EnvelopeSplitter, isEnveloped, messagePayload } from "./envelope.js";
import type { ResponsePlan, RpcRules } from "./rpc-rules.js";

/** Connection-specific headers (RFC 9110, section 7.6.1) that a proxy must not forward. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
  "http2-settings",
]);

/** Response bytes queued before the proxy stops reading from the server, as TCP flow control would. */
const HIGH_WATER_BYTES = 1024 * 1024;

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

type Step =
  | { kind: "head"; status: number; headers: http2.OutgoingHttpHeaders }
  | { kind: "data"; bytes: Buffer }
  | { kind: "trailers"; trailers: http2.OutgoingHttpHeaders }
  | { kind: "end" }
  | { kind: "abort" };

type QueuedStep = Step & { releaseAt: number };

/** The parts of the proxy that a call uses. */
export interface CallContext {
  rules: RpcRules;
  /** Returns the upstream HTTP/2 session for the client connection of this call. */
  upstream(request: DualRequest): http2.ClientHttp2Session;
  /** The `:authority` sent to the server. */
  authority: string;
  onMessageDropped(): void;
  onResponseDropped(): void;
  onFinished(call: ProxiedCall): void;
}

export class ProxiedCall {
  /** The request path: "/<service>/<method>". */
  readonly path: string;
  readonly #request: DualRequest;
  readonly #response: DualResponse;
  readonly #context: CallContext;
  readonly #upstream: http2.ClientHttp2Stream;
  readonly #queue: QueuedStep[] = [];
  #queuedBytes = 0;
  #lastReleaseAt = 0;
  #gateAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #waitingForDrain = false;
  #responseStarted = false;
  #silenced = false;
  #finished = false;

  constructor(request: DualRequest, response: DualResponse, context: CallContext) {
    this.path = request.url ?? "/";
    this.#request = request;
    this.#response = response;
    this.#context = context;

    this.#upstream = context.upstream(request).request(requestHeaders(request, context.authority));
    this.#upstream.on("error", () => {});
    request.on("error", () => {});
    request.pipe(this.#upstream);
    this.#upstream.once("response", (headers) => this.#onResponse(headers));
    this.#upstream.once("close", () => {
      if (!this.#responseStarted) this.#abortDownstream(NGHTTP2_REFUSED_STREAM);
    });
    response.once("close", () => this.#finish());
  }

  /** Forwards nothing more of the response; the call stays open until the client ends it. */
  silence(): void {
    this.#silenced = true;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#updateUpstreamFlow();
  }

  /** Ends the call on both sides at once. */
  destroy(): void {
    this.#abortDownstream(NGHTTP2_CANCEL);
    this.#finish();
  }

  #onResponse(headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader): void {
    this.#responseStarted = true;
    const status = headers[":status"] ?? 0;
    const plan = this.#context.rules.planResponse(this.path);
    switch (plan.kind) {
      case "block":
        // A buffering proxy reads the server's bytes and sends the client none.
        this.#upstream.resume();
        return;
      case "drop":
        this.#dropResponse(status, plan);
        return;
      case "forward":
        this.#forwardResponse(status, headers, plan.delayMs);
        return;
    }
  }

  #dropResponse(status: number, plan: ResponsePlan): void {
    let ended = false;
    this.#upstream.resume();
    this.#upstream.once("end", () => (ended = true));
    this.#upstream.once("close", () => {
      this.#context.onResponseDropped();
      plan.onDropped?.(ended ? status : 0);
      this.#abortDownstream(NGHTTP2_INTERNAL_ERROR);
    });
  }

  #forwardResponse(status: number, headers: http2.IncomingHttpHeaders, delayMs: number): void {
    this.#gateAt = performance.now() + delayMs;
    const enveloped = isEnveloped(headers["content-type"]);
    const encoding = headerText(headers["connect-content-encoding"] ?? headers["grpc-encoding"]);
    const forwarded = forwardableHeaders(headers);
    // Dropped messages change the body's length.
    if (enveloped) delete forwarded["content-length"];
    this.#enqueue({ kind: "head", status, headers: forwarded }, 0);

    const splitter = enveloped ? new EnvelopeSplitter() : undefined;
    this.#upstream.on("data", (chunk: Buffer) => {
      if (splitter === undefined) {
        this.#enqueue({ kind: "data", bytes: chunk }, 0);
        return;
      }
      for (const envelope of splitter.push(chunk)) {
        const payload = this.#context.rules.inspectsMessages(this.path) ? messagePayload(envelope, encoding) : undefined;
        const decision = this.#context.rules.decideMessage(this.path, payload);
        if (decision.drop) {
          this.#context.onMessageDropped();
          continue;
        }
        this.#enqueue({ kind: "data", bytes: envelope.bytes }, decision.delayMs);
      }
    });
    let ended = false;
    this.#upstream.once("trailers", (trailers) => this.#enqueue({ kind: "trailers", trailers: forwardableHeaders(trailers) }, 0));
    this.#upstream.once("end", () => {
      ended = true;
      this.#enqueue({ kind: "end" }, 0);
    });
    this.#upstream.once("close", () => {
      // The server reset the stream or its connection died: the client sees the same.
      if (!ended) this.#enqueue({ kind: "abort" }, 0);
    });
  }

  #enqueue(step: Step, delayMs: number): void {
    if (this.#silenced || this.#finished) return;
    const releaseAt = Math.max(this.#gateAt, performance.now() + delayMs, this.#lastReleaseAt);
    this.#lastReleaseAt = releaseAt;
    this.#queue.push({ ...step, releaseAt });
    if (step.kind === "data") this.#queuedBytes += step.bytes.length;
    this.#pump();
  }

  #pump(): void {
    while (!this.#finished && !this.#waitingForDrain && this.#timer === undefined) {
      const head = this.#queue[0];
      if (head === undefined) break;
      const waitMs = head.releaseAt - performance.now();
      if (waitMs > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, Math.ceil(waitMs));
        break;
      }
      this.#queue.shift();
      this.#apply(head);
    }
    this.#updateUpstreamFlow();
  }

  #apply(step: QueuedStep): void {
    const response = this.#response;
    switch (step.kind) {
      case "head":
        response.writeHead(step.status, step.headers as Record<string, string | string[]>);
        return;
      case "data":
        this.#queuedBytes -= step.bytes.length;
        if (!(response as NodeJS.WritableStream).write(step.bytes)) {
          this.#waitingForDrain = true;
          response.once("drain", () => {
            this.#waitingForDrain = false;
            this.#pump();
          });
        }
        return;
      case "trailers":
        response.addTrailers(step.trailers as Record<string, string>);
        return;
      case "end":
        response.end();
        return;
      case "abort":
        this.#abortDownstream(NGHTTP2_INTERNAL_ERROR);
        return;
    }
  }

  #updateUpstreamFlow(): void {
    if (this.#finished) return;
    const shouldRead = this.#silenced || (!this.#waitingForDrain && this.#queuedBytes < HIGH_WATER_BYTES);
    if (shouldRead && this.#upstream.isPaused()) this.#upstream.resume();
    if (!shouldRead && !this.#upstream.isPaused()) this.#upstream.pause();
  }

  #abortDownstream(code: number): void {
    const response = this.#response;
    if (response instanceof http2.Http2ServerResponse) {
      if (!response.stream.destroyed) response.stream.close(code);
    } else {
      response.socket?.destroy();
    }
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    if (!this.#upstream.closed) this.#upstream.close(NGHTTP2_CANCEL);
    this.#request.unpipe(this.#upstream);
    this.#context.onFinished(this);
  }
}

function requestHeaders(request: DualRequest, authority: string): http2.OutgoingHttpHeaders {
  const headers: http2.OutgoingHttpHeaders = {
    ":method": request.method ?? "POST",
    ":path": request.url ?? "/",
    ":scheme": "http",
    ":authority": authority,
  };
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name.startsWith(":") || HOP_BY_HOP.has(name)) continue;
    // HTTP/2 allows only "te: trailers" (RFC 9113, section 8.2.2), which gRPC requires.
    if (name === "te" && value !== "trailers") continue;
    headers[name] = value;
  }
  return headers;
}

function forwardableHeaders(headers: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const forwarded: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(":") || HOP_BY_HOP.has(name)) continue;
    forwarded[name] = value;
  }
  return forwarded;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
