import type { Client } from "@connectrpc/connect";
import type { ChatService, ServerLimits } from "@chatwire/gen";

/**
 * The server's limits, fetched once per client (GetServerInfo) and kept in
 * memory. Until they are known the client checks only what needs no limit
 * (empty text), and the server rejects the rest.
 */
export class ServerInfoCache {
  readonly #chat: Client<typeof ChatService>;
  #limits: ServerLimits | undefined;
  #pending: Promise<ServerLimits> | undefined;

  constructor(chat: Client<typeof ChatService>) {
    this.#chat = chat;
  }

  /** The limits, or undefined before the first successful fetch. */
  get limits(): ServerLimits | undefined {
    return this.#limits;
  }

  /** Fetches the limits unless they are known; concurrent callers share one call. */
  load(call: (fetch: (signal: AbortSignal) => Promise<ServerLimits>) => Promise<ServerLimits>): Promise<ServerLimits> {
    if (this.#limits !== undefined) return Promise.resolve(this.#limits);
    if (this.#pending !== undefined) return this.#pending;
    const pending = call(async (signal) => {
      const response = await this.#chat.getServerInfo({}, { signal });
      if (response.limits === undefined) throw new Error("GetServerInfo returned no limits");
      return response.limits;
    }).then((limits) => {
      this.#limits = limits;
      return limits;
    });
    this.#pending = pending;
    const clear = () => {
      if (this.#pending === pending) this.#pending = undefined;
    };
    pending.then(clear, clear);
    return pending;
  }
}
