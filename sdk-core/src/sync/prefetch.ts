import { Code } from "@connectrpc/connect";
import type { SyncResponse } from "@chatwire/gen";
import { linkedController } from "../connection/call.js";
import { ChatError } from "../errors/chat-error.js";
import type { Logger } from "../options.js";

/** A Sync request for the page after the one being applied. */
export interface Prefetch {
  /** The cursor the page was requested from: the previous page's next_cursor. */
  readonly requestCursor: string;
  readonly controller: AbortController;
  /** The page, or undefined when the request failed or was aborted. */
  readonly response: Promise<SyncResponse | undefined>;
}

/**
 * Starts `request` for the page after `requestCursor`, aborted with `signal`
 * or by `discardPrefetch`. A failure is logged and resolves to undefined,
 * because the caller then requests the page again from its stored cursor.
 */
export function startPrefetch(
  requestCursor: string,
  signal: AbortSignal,
  logger: Logger,
  request: (signal: AbortSignal, cursor: string) => Promise<SyncResponse>,
): Prefetch {
  const { controller, dispose } = linkedController(signal);
  const response = request(controller.signal, requestCursor).then(
    (next): SyncResponse | undefined => next,
    (error: unknown): undefined => {
      if (!controller.signal.aborted) {
        logger.debug({ err: error }, "prefetching the next Sync page failed; requesting it again");
      }
      return undefined;
    },
  );
  return { requestCursor, controller, response: response.finally(dispose) };
}

/** Aborts a prefetch whose page will not be applied. */
export function discardPrefetch(prefetch: Prefetch | undefined): void {
  prefetch?.controller.abort(new ChatError(Code.Canceled, "prefetched Sync page discarded"));
}
