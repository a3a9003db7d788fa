/**
 * Checks on request fields. Each function returns the checked value or throws
 * an invalid_argument error that names the field, the value and the rule.
 */
import { conversationNotFound, fieldAboveMaximum, fieldInvalid, fieldTooLarge } from "./errors.js";

const USER_ID = /^[A-Za-z0-9_.@-]{1,64}$/;
const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const REQUEST_ID = /^[A-Za-z0-9_.@:-]{1,64}$/;
// Canonical lowercase UUID text with version nibble 7 and variant bits 10xx (RFC 9562).
// In a /u regex, \p{Surrogate} matches only unpaired surrogates: pairs are read as one code point.
const LONE_SURROGATE = /\p{Surrogate}/u;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Shows a client value in a message without letting it flood the log or the reply. */
export function quote(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}...` : value;
  return JSON.stringify(shown);
}

// RegExp.test() converts its argument to a string, so ["alice"] would pass.
// The checks test typeof first because JWT claims can be any JSON type.
export function isUserId(value: unknown): boolean {
  return typeof value === "string" && USER_ID.test(value);
}

export function checkUserId(field: string, value: string): string {
  if (!isUserId(value)) {
    throw fieldInvalid(
      field,
      `${field} ${quote(value)} is not a valid user id: use 1 to 64 characters of A-Z, a-z, 0-9, '_', '.', '@' and '-'`,
    );
  }
  return value;
}

export function checkDeviceId(field: string, value: string): string {
  if (typeof value !== "string" || !DEVICE_ID.test(value)) {
    throw fieldInvalid(
      field,
      `${field} ${quote(value)} is not a valid device id: use 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'`,
    );
  }
  return value;
}

/** Checks an optional idempotency key: empty, or 1 to 64 characters of [A-Za-z0-9_.@:-]. */
export function checkRequestId(field: string, value: string): string {
  if (value === "") return value;
  if (typeof value !== "string" || !REQUEST_ID.test(value)) {
    throw fieldInvalid(
      field,
      `${field} ${quote(value)} is not a valid request id: use 1 to 64 characters of ` +
        "A-Z, a-z, 0-9, '_', '.', '@', ':' and '-', or leave it empty",
    );
  }
  return value;
}

export function isUuidV7(value: string): boolean {
  return typeof value === "string" && UUID_V7.test(value);
}

export function checkClientMessageId(value: string): string {
  if (!isUuidV7(value)) {
    throw fieldInvalid(
      "client_message_id",
      `client_message_id ${quote(value)} is not a UUIDv7 in canonical lowercase form ` +
        "(8-4-4-4-12 hex digits, version 7, variant 10xx)",
    );
  }
  return value;
}

/**
 * Checks message text: 1 byte up to maxBytes of UTF-8, and well-formed Unicode,
 * because a lone surrogate cannot be stored and returned byte for byte.
 */
export function checkText(text: string, maxBytes: number): string {
  if (text.length === 0) {
    throw fieldInvalid("text", "text is empty; a message needs at least 1 byte of text");
  }
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) {
    throw fieldTooLarge("text", bytes, maxBytes, "bytes");
  }
  if (LONE_SURROGATE.test(text)) {
    throw fieldInvalid("text", "text contains an unpaired UTF-16 surrogate, which is not valid UTF-8");
  }
  return text;
}

/** Checks a UTF-8 string field against a byte limit. */
export function checkByteLength(field: string, value: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > maxBytes) {
    throw fieldTooLarge(field, bytes, maxBytes, "bytes");
  }
  if (LONE_SURROGATE.test(value)) {
    throw fieldInvalid(field, `${field} contains an unpaired UTF-16 surrogate, which is not valid UTF-8`);
  }
  return value;
}

/** Resolves a page size: 0 means the default, above the maximum is an error. */
export function checkPageSize(
  field: string,
  value: number,
  sizes: { defaultSize: number; maxSize: number },
  unit: string,
): number {
  if (value === 0) return sizes.defaultSize;
  if (value > sizes.maxSize) throw fieldTooLarge(field, value, sizes.maxSize, unit);
  return value;
}

export function checkWaitMs(value: number, maxWaitMs: number): number {
  if (value > maxWaitMs) throw fieldAboveMaximum("wait_ms", value, maxWaitMs);
  return value;
}

/**
 * Rejects a cursor or a long-poll wait in a Sync with from_end set. Such a
 * Sync returns the end of the log at once, so neither has a meaning there.
 */
export function checkFromEnd(cursor: string, waitMs: number): void {
  if (cursor !== "") {
    throw fieldInvalid("cursor", "cursor is set together with from_end; send an empty cursor to take the end of the log");
  }
  if (waitMs > 0) {
    throw fieldInvalid("wait_ms", `wait_ms is ${waitMs} together with from_end; send wait_ms 0 to take the end of the log`);
  }
}

/**
 * Converts a uint64 field, which protobuf-es decodes as a bigint, to a number.
 * Values above 2^53 - 1 would lose precision as numbers, so they are rejected,
 * and the message shows the exact decimal the client sent.
 */
export function checkSafeInteger(field: string, value: bigint): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw fieldInvalid(field, `${field} is ${value.toString()}; it must be an integer from 0 to 2^53 - 1`);
  }
  return Number(value);
}

/**
 * Checks the shape of a conversation id. A malformed id gets the same
 * not_found as an unknown conversation, so that ids reveal nothing.
 */
export function checkConversationId(field: string, value: string): string {
  if (value.length === 0 || value.length > 128) throw conversationNotFound(field);
  return value;
}
