/**
 * Broken variants of the reference server that one interceptor each
 * builds, aimed at the receipt, text, Subscribe cursor and rate-limit cases:
 *
 * - receipts-lower: Acknowledge returns the marks of the request, as a
 *   server that stores the latest mark instead of the highest does. A read
 *   mark still raises the delivered mark within the request.
 * - nfc-text: SendMessage text is normalized to NFC before it is stored.
 * - batch-cursor-lag: every Subscribe batch carries the cursor of the batch
 *   before it, and the first batch an empty cursor, so a client resuming
 *   from a stored stream cursor receives events again.
 * - rate-global: one token bucket for all users, with the advertised rate
 *   and a burst of twice the rate, on top of the server's own per-user limit.
 */
import { clone, create, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  AcknowledgeResponseSchema,
  ErrorDetailSchema,
  ErrorReason,
  ReceiptMarkSchema,
  SendMessageRequestSchema,
  SubscribeResponseSchema,
  type AcknowledgeRequest,
  type AcknowledgeResponse,
  type SendMessageRequest,
  type SubscribeResponse,
} from "@chatwire/gen";

export function receiptsLower(): Interceptor {
  return (next) => async (request) => {
    const response = await next(request);
    if (request.stream || response.stream || request.method.name !== "Acknowledge") return response;
    const sent = request.message as AcknowledgeRequest;
    const answer = clone(AcknowledgeResponseSchema, response.message as AcknowledgeResponse);
    answer.marks = sent.marks.map((mark) => {
      const latest = clone(ReceiptMarkSchema, mark);
      latest.deliveredSeq = mark.deliveredSeq > mark.readSeq ? mark.deliveredSeq : mark.readSeq;
      return latest;
    });
    return { ...response, message: answer } as typeof response;
  };
}

export function nfcText(): Interceptor {
  return (next) => async (request) => {
    if (request.stream || request.method.name !== "SendMessage") return next(request);
    const normalized = clone(SendMessageRequestSchema, request.message as SendMessageRequest);
    normalized.text = normalized.text.normalize("NFC");
    return next({ ...request, message: normalized as Message });
  };
}

export function batchCursorLag(): Interceptor {
  return (next) => async (request) => {
    const response = await next(request);
    if (!response.stream || request.method.name !== "Subscribe") return response;
    const frames = response.message as AsyncIterable<SubscribeResponse>;
    return {
      ...response,
      message: (async function* lagging() {
        let previous = "";
        for await (const frame of frames) {
          if (frame.kind.case !== "batch") {
            yield frame;
            continue;
          }
          const copy = clone(SubscribeResponseSchema, frame);
          if (copy.kind.case === "batch") {
            const own = copy.kind.value.cursor;
            copy.kind.value.cursor = previous;
            previous = own;
          }
          yield copy;
        }
      })(),
    } as typeof response;
  };
}

export function rateGlobal(ratePerSecond: number): Interceptor {
  const capacity = 2 * ratePerSecond;
  let tokens = capacity;
  let updatedAt = performance.now();
  return (next) => async (request) => {
    if (ratePerSecond <= 0) return next(request);
    const now = performance.now();
    tokens = Math.min(capacity, tokens + ((now - updatedAt) / 1000) * ratePerSecond);
    updatedAt = now;
    if (tokens < 1) {
      const retryAfterMs = Math.max(1, Math.ceil(((1 - tokens) / ratePerSecond) * 1000));
      const detail = create(ErrorDetailSchema, { reason: ErrorReason.RATE_LIMITED, limit: BigInt(ratePerSecond), retryAfterMs });
      throw new ConnectError(
        `rate limit of ${ratePerSecond} requests per second for all users exceeded; retry in ${retryAfterMs} ms`,
        Code.ResourceExhausted,
        undefined,
        [{ desc: ErrorDetailSchema, value: detail }],
      );
    }
    tokens -= 1;
    return next(request);
  };
}
