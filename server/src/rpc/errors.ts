/**
 * Error constructors for every failure a chatwire server reports.
 *
 * Each error is a ConnectError with a fixed code and, where chatwire.v1 lists a
 * reason, an ErrorDetail naming the field, the limit and the actual value. The
 * stores throw these too, so that every store implementation reports the same
 * code, reason and message for the same failure.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema, ErrorReason } from "@chatwire/gen";

interface DetailInit {
  reason: ErrorReason;
  field?: string;
  limit?: number;
  actual?: number;
  retryAfterMs?: number;
}

/** Formats a count with thousands separators, as in "16,385". */
export function formatCount(value: number): string {
  return value.toLocaleString("en-US");
}

function withDetail(message: string, code: Code, detail: DetailInit): ConnectError {
  const value = create(ErrorDetailSchema, {
    reason: detail.reason,
    field: detail.field ?? "",
    limit: BigInt(detail.limit ?? 0),
    actual: BigInt(detail.actual ?? 0),
    retryAfterMs: detail.retryAfterMs ?? 0,
  });
  return new ConnectError(message, code, undefined, [{ desc: ErrorDetailSchema, value }]);
}

/** Creates the error for a field that is missing or malformed: invalid_argument, FIELD_INVALID. */
export function fieldInvalid(field: string, message: string): ConnectError {
  return withDetail(message, Code.InvalidArgument, { reason: ErrorReason.FIELD_INVALID, field });
}

/**
 * Creates the error for a field over its limit: invalid_argument,
 * FIELD_TOO_LARGE. The message reads
 * "<field> is <actual> <unit>; the limit is <limit> <unit>".
 */
export function fieldTooLarge(field: string, actual: number, limit: number, unit: string): ConnectError {
  const suffix = unit === "" ? "" : ` ${unit}`;
  return withDetail(
    `${field} is ${formatCount(actual)}${suffix}; the limit is ${formatCount(limit)}${suffix}`,
    Code.InvalidArgument,
    { reason: ErrorReason.FIELD_TOO_LARGE, field, limit, actual },
  );
}

/**
 * Creates the error for a field over a maximum that is a setting rather than
 * a size, as in "wait_ms is 60000; the maximum is 30000": invalid_argument,
 * FIELD_TOO_LARGE.
 */
export function fieldAboveMaximum(field: string, actual: number, maximum: number): ConnectError {
  return withDetail(`${field} is ${actual}; the maximum is ${maximum}`, Code.InvalidArgument, {
    reason: ErrorReason.FIELD_TOO_LARGE,
    field,
    limit: maximum,
    actual,
  });
}

/** Creates one error for a missing conversation and for a non-member, so that nothing leaks. */
export function conversationNotFound(field = "conversation_id"): ConnectError {
  return withDetail(
    "conversation not found, or the caller is not a member of it",
    Code.NotFound,
    { reason: ErrorReason.CONVERSATION_NOT_FOUND, field },
  );
}

export function idempotencyKeyReused(clientMessageId: string): ConnectError {
  return withDetail(
    `client_message_id ${clientMessageId} was already used for a message with other text or ` +
      "another conversation; generate a new UUIDv7 for a new message",
    Code.AlreadyExists,
    { reason: ErrorReason.IDEMPOTENCY_KEY_REUSED, field: "client_message_id" },
  );
}

export function conversationKind(message: string): ConnectError {
  return withDetail(message, Code.FailedPrecondition, { reason: ErrorReason.CONVERSATION_KIND });
}

export function tooManyMembers(field: string, actual: number, limit: number): ConnectError {
  return withDetail(
    `the conversation would have ${formatCount(actual)} members; the limit is ${formatCount(limit)} members`,
    Code.ResourceExhausted,
    { reason: ErrorReason.TOO_MANY_MEMBERS, field, limit, actual },
  );
}

/**
 * Creates the error for a new group over the member limit, counting the
 * caller, as in "the caller and 10,000 other members make 10,001 members; the
 * limit is 500": resource_exhausted, TOO_MANY_MEMBERS.
 */
export function tooManyMembersWithCaller(field: string, others: number, limit: number): ConnectError {
  const total = others + 1;
  return withDetail(
    `the caller and ${formatCount(others)} other members make ${formatCount(total)} members; ` +
      `the limit is ${formatCount(limit)} members`,
    Code.ResourceExhausted,
    { reason: ErrorReason.TOO_MANY_MEMBERS, field, limit, actual: total },
  );
}

export function cursorInvalid(field: string, why: string): ConnectError {
  return withDetail(
    `${field} is not a cursor this server issued (${why}); sync from an empty cursor`,
    Code.InvalidArgument,
    { reason: ErrorReason.CURSOR_INVALID, field },
  );
}

/** Creates the error for a cursor whose user tag does not match the caller: invalid_argument, CURSOR_INVALID. */
export function cursorOfAnotherUser(field: string): ConnectError {
  return withDetail(
    `${field} was issued to another user; use a cursor this user received, or sync from an empty cursor`,
    Code.InvalidArgument,
    { reason: ErrorReason.CURSOR_INVALID, field },
  );
}

export function cursorExpired(field: string, why: string): ConnectError {
  return withDetail(
    `${field} has expired (${why}); discard the synced state and sync from an empty cursor`,
    Code.OutOfRange,
    { reason: ErrorReason.CURSOR_EXPIRED, field },
  );
}

export function tokenInvalid(why: string): ConnectError {
  return withDetail(`invalid bearer token: ${why}`, Code.Unauthenticated, {
    reason: ErrorReason.TOKEN_INVALID,
  });
}

export function tokenExpired(): ConnectError {
  return withDetail(
    "the bearer token has expired; obtain a fresh token and retry",
    Code.Unauthenticated,
    { reason: ErrorReason.TOKEN_EXPIRED },
  );
}

export function rateLimited(limitPerSecond: number, retryAfterMs: number): ConnectError {
  return withDetail(
    `rate limit of ${formatCount(limitPerSecond)} requests per second exceeded; retry in ${retryAfterMs} ms`,
    Code.ResourceExhausted,
    { reason: ErrorReason.RATE_LIMITED, limit: limitPerSecond, retryAfterMs },
  );
}

/**
 * Creates the error for a Subscribe or waiting long-poll Sync over the
 * caller's limit of open ones: resource_exhausted without a reason, so
 * clients retry with backoff while their older streams close.
 */
export function tooManyStreams(userId: string, open: number, limit: number): ConnectError {
  return new ConnectError(
    `user ${userId} has ${formatCount(open)} open Subscribe streams and long-poll Syncs; ` +
      `the limit is ${formatCount(limit)}; close one or retry after one ends`,
    Code.ResourceExhausted,
  );
}

export function shuttingDown(): ConnectError {
  return new ConnectError("the server is shutting down; reconnect with backoff", Code.Unavailable);
}

/** Creates the error for a receipt mark above the conversation's newest message: invalid_argument, FIELD_TOO_LARGE. */
export function markAboveLastSeq(field: string, actual: number, lastSeq: number): ConnectError {
  return withDetail(
    `${field} is ${formatCount(actual)}; the conversation's last seq is ${formatCount(lastSeq)}`,
    Code.InvalidArgument,
    { reason: ErrorReason.FIELD_TOO_LARGE, field, limit: lastSeq, actual },
  );
}
