import { Code } from "@connectrpc/connect";
import type { Transport } from "@connectrpc/connect";
import { ChatError } from "../errors/chat-error.js";
import { classifyFailure } from "../errors/classify.js";
import type { Logger, TokenRequestContext } from "../options.js";

/**
 * Stores the bearer token and requests a new one from the host. Concurrent
 * callers that all saw the same token rejected share one `getToken()` call.
 */
export class TokenSource {
  readonly #getToken: (context: TokenRequestContext) => Promise<string>;
  readonly #logger: Logger;
  #token: string | undefined;
  #pending: Promise<string> | undefined;
  #generation = 0;

  constructor(getToken: (context: TokenRequestContext) => Promise<string>, logger: Logger) {
    this.#getToken = getToken;
    this.#logger = logger;
  }

  /** Counts the tokens obtained so far; a caller compares it to tell whether a refresh already happened. */
  get generation(): number {
    return this.#generation;
  }

  /** Returns the current token, asking the host for the first one. */
  current(): Promise<string> {
    if (this.#token !== undefined) return Promise.resolve(this.#token);
    return this.#fetch("initial");
  }

  /**
   * Asks the host for a fresh token, unless one was obtained after
   * `seenGeneration` (another call refreshed it already).
   */
  refresh(reason: "expired" | "rejected", seenGeneration: number): Promise<string> {
    if (this.#generation > seenGeneration && this.#token !== undefined) return Promise.resolve(this.#token);
    return this.#fetch(reason);
  }

  #fetch(reason: TokenRequestContext["reason"]): Promise<string> {
    if (this.#pending !== undefined) return this.#pending;
    this.#logger.info({ reason }, "requesting a token from the host");
    const pending = this.#getToken({ reason }).then(
      (token) => {
        if (typeof token !== "string" || token === "") {
          throw new ChatError(Code.Unauthenticated, `getToken() returned ${JSON.stringify(token)}; return a non-empty JWT string`);
        }
        this.#token = token;
        this.#generation += 1;
        return token;
      },
      (error: unknown) => {
        // A failing token callback is usually the host's own network call: retried with backoff like one.
        throw new ChatError(Code.Unavailable, `getToken({ reason: "${reason}" }) failed; the client retries with backoff`, {
          cause: error,
        });
      },
    );
    this.#pending = pending;
    const clear = () => {
      if (this.#pending === pending) this.#pending = undefined;
    };
    pending.then(clear, clear);
    return pending;
  }
}

/** Wraps a transport so that every call carries `Authorization: Bearer <token>`. */
export function withBearerToken(transport: Transport, tokens: TokenSource): Transport {
  const authorize = async (header: HeadersInit | undefined): Promise<Headers> => {
    const headers = new Headers(header);
    headers.set("Authorization", `Bearer ${await tokens.current()}`);
    return headers;
  };
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      return transport.unary(method, signal, timeoutMs, await authorize(header), input, contextValues);
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      return transport.stream(method, signal, timeoutMs, await authorize(header), input, contextValues);
    },
  };
}

/**
 * Runs `call`; when the server rejects the token, gets a fresh one from the
 * host and runs `call` once more. A second rejection is thrown to the caller,
 * which backs off instead of asking again.
 */
export async function withTokenRefresh<T>(tokens: TokenSource, call: () => Promise<T>): Promise<T> {
  // Fetch the first token before noting the generation, so that fetch does not count as a refresh.
  await tokens.current();
  const generation = tokens.generation;
  try {
    return await call();
  } catch (thrown) {
    const error = ChatError.from(thrown);
    const action = classifyFailure(error, false);
    if (action.kind !== "refresh-token") throw thrown;
    await tokens.refresh(action.reason, generation);
    return await call();
  }
}
