import type { Client } from "@connectrpc/connect";
import type { ChatService } from "@chatwire/gen";
import type { TokenSource } from "./auth.js";
import type { Clock, Logger, Tuning } from "../options.js";
import type { ChatStorage } from "../storage/types.js";

/**
 * Dependencies of a module that writes to the server on its own schedule and
 * retries with token refresh and backoff: the outbox and the receipts.
 */
export interface RetryingCallerContext {
  storage: ChatStorage;
  chat: Client<typeof ChatService>;
  tokens: TokenSource;
  clock: Clock;
  /** Source of jitter for the backoff, in [0, 1). */
  random: () => number;
  tuning: Tuning;
  logger: Logger;
}
