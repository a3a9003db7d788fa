import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";
import type { ChatError } from "./chat-error.js";

/**
 * The client's response to a failed call.
 *
 * - backoff: the failure is transient; try again after an exponential backoff delay.
 * - wait: the server asked for a pause (rate limit); try again after `delayMs`.
 * - refresh-token: get a fresh token from the host, then try again once.
 * - resync: the sync cursor is unusable; discard the synced state and rebuild it from the server.
 * - park: retrying the same request cannot succeed; give up on it (an outbox
 *   entry becomes failed) and tell the host.
 * - cancelled: the client itself aborted the call (close, background, a
 *   superseded request); nothing to do.
 */
export type FailureAction =
  | { kind: "backoff" }
  | { kind: "wait"; delayMs: number }
  | { kind: "refresh-token"; reason: "expired" | "rejected" }
  | { kind: "resync" }
  | { kind: "park" }
  | { kind: "cancelled" };

/**
 * Decides what every failure means; the whole retry policy is here.
 *
 * `ownSignalAborted` is true when the client's own AbortSignal for the call
 * fired. That flag, and never the code, separates a cancel by the client from
 * a lost connection: a dropped connection surfaces as canceled over HTTP/2, aborted
 * over HTTP/1.1 and unknown in browsers (measured with connect-node and
 * connect-web 2.1.1).
 */
export function classifyFailure(error: ChatError, ownSignalAborted: boolean): FailureAction {
  if (ownSignalAborted) return { kind: "cancelled" };
  const code: Code = error.code;
  switch (code) {
    case Code.Canceled:
    case Code.Unknown:
    case Code.DeadlineExceeded:
    case Code.Aborted:
    case Code.Internal:
    case Code.Unavailable:
      return { kind: "backoff" };
    case Code.ResourceExhausted:
      if (error.reason === ErrorReason.RATE_LIMITED && error.detail !== undefined && error.detail.retryAfterMs > 0) {
        return { kind: "wait", delayMs: error.detail.retryAfterMs };
      }
      // Too many members or too large a field is a property of the request: a retry fails the same way.
      if (error.reason === ErrorReason.TOO_MANY_MEMBERS || error.reason === ErrorReason.FIELD_TOO_LARGE) {
        return { kind: "park" };
      }
      return { kind: "backoff" };
    case Code.Unauthenticated:
      return { kind: "refresh-token", reason: error.reason === ErrorReason.TOKEN_EXPIRED ? "expired" : "rejected" };
    case Code.OutOfRange:
      return error.reason === ErrorReason.CURSOR_EXPIRED ? { kind: "resync" } : { kind: "park" };
    case Code.InvalidArgument:
      return error.reason === ErrorReason.CURSOR_INVALID ? { kind: "resync" } : { kind: "park" };
    case Code.AlreadyExists:
    case Code.NotFound:
    case Code.PermissionDenied:
    case Code.FailedPrecondition:
    case Code.Unimplemented:
    case Code.DataLoss:
      return { kind: "park" };
    default:
      return assertNever(code);
  }
}

function assertNever(code: never): never {
  throw new Error(`unhandled Connect code ${String(code)}`);
}
