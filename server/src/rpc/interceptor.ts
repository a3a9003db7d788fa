/**
 * The one interceptor every RPC passes through. In order: refuse new calls
 * while the server drains, verify the bearer token, apply the caller's rate
 * limit, run the handler, count the outcome, and turn unexpected errors into
 * `internal` without details, logged with a request id.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { TokenVerifier } from "../auth/tokens.js";
import { requestId as newRequestId } from "../ids.js";
import type { ServerMetrics } from "../metrics.js";
import { callerKey, type CallerContext } from "./context.js";
import { rateLimited, shuttingDown } from "./errors.js";
import type { RateLimiter } from "./rate-limit.js";

export interface InterceptorOptions {
  verify: TokenVerifier;
  limiter: RateLimiter;
  rateLimit: number;
  metrics: ServerMetrics;
  logger: Logger;
  /** True once shutdown began. */
  draining(): boolean;
  /** Counts calls in progress, so that shutdown can wait for them. */
  inFlight: { enter(): void; leave(): void };
}

/** "InvalidArgument" -> "invalid_argument", the names Connect uses on the wire. */
function codeName(code: Code): string {
  return Code[code].replace(/[A-Z]/g, (letter, index: number) => (index === 0 ? "" : "_") + letter.toLowerCase());
}

export function createServerInterceptor(options: InterceptorOptions): Interceptor {
  const { metrics, logger } = options;
  // prom-client hashes the labels on every inc(); the children for each
  // method and code are looked up once and reused.
  const counters = new Map<string, { inc(): void }>();
  const countRequest = (method: string, code: string) => {
    const key = `${method} ${code}`;
    let counter = counters.get(key);
    if (counter === undefined) {
      counter = metrics.requests.labels({ method, code });
      counters.set(key, counter);
    }
    counter.inc();
  };

  return (next) => async (request) => {
    const method = request.method.name;
    const requestId = newRequestId();
    let caller: CallerContext | undefined;
    let settled = false;

    const settle = (error: unknown): ConnectError | undefined => {
      if (settled) return undefined;
      settled = true;
      options.inFlight.leave();
      if (error === undefined) {
        countRequest(method, "ok");
        return undefined;
      }
      const connectError = toClientError(error);
      countRequest(method, codeName(connectError.code));
      return connectError;
    };

    const toClientError = (error: unknown): ConnectError => {
      if (error instanceof ConnectError) return error;
      const conversationId = !request.stream
        ? (request.message as { conversationId?: unknown }).conversationId
        : undefined;
      logger.error(
        { err: error, requestId, method, userId: caller?.userId, conversationId },
        "unexpected error while handling a request",
      );
      return new ConnectError(`internal error; the server logged it with request id ${requestId}`, Code.Internal);
    };

    options.inFlight.enter();
    try {
      if (options.draining()) throw shuttingDown();
      const verified = await options.verify(request.header.get("authorization"));
      caller = { ...verified, requestId };
      const retryAfterMs = await options.limiter.take(caller.userId);
      if (retryAfterMs > 0) {
        metrics.rateLimited.inc();
        throw rateLimited(options.rateLimit, retryAfterMs);
      }
      request.contextValues.set(callerKey, caller);
      const response = await next(request);
      if (!response.stream) {
        settle(undefined);
        return response;
      }
      const messages = response.message;
      return {
        ...response,
        message: (async function* observe() {
          try {
            yield* messages;
            // A handler that returns after the client went away did not succeed.
            if (request.signal.aborted) settle(new ConnectError("the client canceled the stream", Code.Canceled));
            else settle(undefined);
          } catch (error) {
            throw settle(error) ?? error;
          } finally {
            // The client went away: the generator was returned early.
            if (!settled) {
              settled = true;
              options.inFlight.leave();
              countRequest(method, "canceled");
            }
          }
        })(),
      };
    } catch (error) {
      throw settle(error) ?? error;
    }
  };
}
