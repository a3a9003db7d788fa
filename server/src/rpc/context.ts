/** The authenticated caller of an RPC, set by the interceptor before any handler runs. */
import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Caller } from "../auth/tokens.js";

export interface CallerContext extends Caller {
  /** Random id that ties log lines of one request together. */
  requestId: string;
}

export const callerKey = createContextKey<CallerContext | undefined>(undefined, {
  description: "authenticated caller",
});

export function callerOf(context: HandlerContext): CallerContext {
  const caller = context.values.get(callerKey);
  if (caller === undefined) {
    // Only reachable if the interceptor is not installed: fail closed.
    throw new ConnectError("the request was not authenticated", Code.Internal);
  }
  return caller;
}
