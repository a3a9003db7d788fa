/**
 * Assertions on the errors a server returns: the Connect code, the
 * chatwire.v1.ErrorDetail reason and fields, and numbers in the message.
 */
import assert from "node:assert/strict";

import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema, ErrorReason, type ErrorDetail } from "@chatwire/gen";

/** Returns the Connect code's protocol name ("invalid_argument"). */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** Returns the reason's short name ("CURSOR_INVALID"), or the number of one this suite does not know. */
export function reasonName(reason: ErrorReason | undefined): string {
  if (reason === undefined) return "(no ErrorDetail)";
  return ErrorReason[reason] ?? `reason ${reason}`;
}

/** The error a rejected call is expected to carry. */
export interface ExpectedError {
  code: Code;
  /** The ErrorDetail reason; unset when the contract gives none. */
  reason?: ErrorReason;
  /** ErrorDetail.field, when the contract names the field. */
  field?: string;
  /** ErrorDetail.limit; the message must also contain this number. */
  limit?: number;
  /** ErrorDetail.actual. */
  actual?: number;
}

/** The error of a rejected call. */
export interface Rejection {
  code: string;
  message: string;
  detail: ErrorDetail | undefined;
}

/** Returns the rejection of `call`, or fails when it succeeds. */
export async function rejectionOf(label: string, call: Promise<unknown> | (() => Promise<unknown>)): Promise<Rejection> {
  try {
    await (typeof call === "function" ? call() : call);
  } catch (error) {
    const connectError = ConnectError.from(error);
    return {
      code: codeName(connectError.code),
      message: connectError.rawMessage,
      detail: connectError.findDetails(ErrorDetailSchema)[0],
    };
  }
  assert.fail(`${label} succeeded; expected an error`);
}

/** Awaits `call`, which must fail as `expected` describes, and returns its error. */
export async function expectRejected(
  label: string,
  call: Promise<unknown> | (() => Promise<unknown>),
  expected: ExpectedError,
): Promise<Rejection> {
  const rejection = await rejectionOf(label, call);
  assertRejection(label, rejection, expected);
  return rejection;
}

/** Checks a rejection (from a client call or a raw request) against `expected`. */
export function assertRejection(label: string, rejection: Rejection, expected: ExpectedError): void {
  const seen = `${rejection.code} (${reasonName(rejection.detail?.reason)}): ${rejection.message}`;
  assert.equal(rejection.code, codeName(expected.code), `${label}: code; got ${seen}`);
  if (expected.reason !== undefined) {
    assert.equal(reasonName(rejection.detail?.reason), reasonName(expected.reason), `${label}: ErrorDetail reason; got ${seen}`);
  }
  if (expected.field !== undefined) {
    assert.equal(rejection.detail?.field, expected.field, `${label}: ErrorDetail.field; got ${seen}`);
  }
  if (expected.limit !== undefined) {
    assert.equal(rejection.detail?.limit, BigInt(expected.limit), `${label}: ErrorDetail.limit; got ${seen}`);
    assertMentionsNumber(label, rejection.message, expected.limit);
  }
  if (expected.actual !== undefined) {
    assert.equal(rejection.detail?.actual, BigInt(expected.actual), `${label}: ErrorDetail.actual; got ${seen}`);
  }
}

/**
 * Checks that `message` contains `value` as a whole number, written plainly
 * ("16384") or with thousands separators ("16,384", "16.384", "16 384").
 */
export function assertMentionsNumber(label: string, message: string, value: number): void {
  const plain = message.replace(/(\d)[,._ \u00a0\u202f](?=\d{3}(?!\d))/g, "$1");
  const found = new RegExp(`(?<!\\d)${value}(?!\\d)`).test(plain);
  assert.ok(found, `${label}: the message should name ${value}; it is ${JSON.stringify(message)}`);
}
