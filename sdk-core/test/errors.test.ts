import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema, ErrorReason } from "@chatwire/gen";
import { describe, expect, it } from "vitest";
import { ChatError, codeName } from "../src/errors/chat-error.js";
import { classifyFailure } from "../src/errors/classify.js";
import type { FailureAction } from "../src/errors/classify.js";

function connectError(code: Code, reason?: ErrorReason, retryAfterMs = 0): ChatError {
  const details = reason === undefined ? [] : [{ desc: ErrorDetailSchema, value: { reason, retryAfterMs, field: "text", limit: 4096n, actual: 4097n } }];
  return ChatError.from(new ConnectError("server message", code, undefined, details));
}

describe("ChatError.from", () => {
  it("keeps the Connect code and raw message", () => {
    const error = ChatError.from(new ConnectError("no such conversation", Code.NotFound));
    expect(error).toBeInstanceOf(ChatError);
    expect(error.code).toBe(Code.NotFound);
    expect(error.message).toBe("no such conversation");
    expect(error.reason).toBeUndefined();
  });

  it("reads the reason and detail from ErrorDetail", () => {
    const error = connectError(Code.InvalidArgument, ErrorReason.FIELD_TOO_LARGE);
    expect(error.reason).toBe(ErrorReason.FIELD_TOO_LARGE);
    expect(error.reasonName).toBe("ERROR_REASON_FIELD_TOO_LARGE");
    expect(error.detail).toEqual({ field: "text", limit: 4096, actual: 4097, retryAfterMs: 0 });
  });

  it("turns a plain Error into unknown with the cause kept", () => {
    const cause = new Error("disk full");
    const error = ChatError.from(cause);
    expect(error.code).toBe(Code.Unknown);
    expect(error.cause).toBe(cause);
  });

  it("returns a ChatError unchanged", () => {
    const error = new ChatError(Code.Aborted, "gap");
    expect(ChatError.from(error)).toBe(error);
  });

  it("names codes in Connect's lowercase form", () => {
    expect(codeName(Code.InvalidArgument)).toBe("invalid_argument");
    expect(codeName(Code.DeadlineExceeded)).toBe("deadline_exceeded");
    expect(codeName(Code.Canceled)).toBe("canceled");
    expect(new ChatError(Code.ResourceExhausted, "x").codeName).toBe("resource_exhausted");
  });
});

describe("classifyFailure", () => {
  const backoff: FailureAction = { kind: "backoff" };
  const park: FailureAction = { kind: "park" };
  const table: [string, ChatError, FailureAction][] = [
    ["canceled while our signal did not fire (connection lost over HTTP/2)", connectError(Code.Canceled), backoff],
    ["unknown (connection lost in a browser)", connectError(Code.Unknown), backoff],
    ["invalid_argument", connectError(Code.InvalidArgument), park],
    ["invalid_argument FIELD_TOO_LARGE", connectError(Code.InvalidArgument, ErrorReason.FIELD_TOO_LARGE), park],
    ["invalid_argument CURSOR_INVALID", connectError(Code.InvalidArgument, ErrorReason.CURSOR_INVALID), { kind: "resync" }],
    ["deadline_exceeded", connectError(Code.DeadlineExceeded), backoff],
    ["not_found", connectError(Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND), park],
    ["already_exists IDEMPOTENCY_KEY_REUSED", connectError(Code.AlreadyExists, ErrorReason.IDEMPOTENCY_KEY_REUSED), park],
    ["permission_denied", connectError(Code.PermissionDenied), park],
    ["resource_exhausted without a reason", connectError(Code.ResourceExhausted), backoff],
    ["resource_exhausted RATE_LIMITED", connectError(Code.ResourceExhausted, ErrorReason.RATE_LIMITED, 1500), { kind: "wait", delayMs: 1500 }],
    ["resource_exhausted RATE_LIMITED without retry_after_ms", connectError(Code.ResourceExhausted, ErrorReason.RATE_LIMITED, 0), backoff],
    ["resource_exhausted TOO_MANY_MEMBERS", connectError(Code.ResourceExhausted, ErrorReason.TOO_MANY_MEMBERS), park],
    ["resource_exhausted FIELD_TOO_LARGE", connectError(Code.ResourceExhausted, ErrorReason.FIELD_TOO_LARGE), park],
    ["failed_precondition", connectError(Code.FailedPrecondition, ErrorReason.CONVERSATION_KIND), park],
    ["aborted (connection lost over HTTP/1.1)", connectError(Code.Aborted), backoff],
    ["out_of_range CURSOR_EXPIRED", connectError(Code.OutOfRange, ErrorReason.CURSOR_EXPIRED), { kind: "resync" }],
    ["out_of_range without a reason", connectError(Code.OutOfRange), park],
    ["unimplemented", connectError(Code.Unimplemented), park],
    ["internal", connectError(Code.Internal), backoff],
    ["unavailable", connectError(Code.Unavailable), backoff],
    ["data_loss", connectError(Code.DataLoss), park],
    ["unauthenticated TOKEN_EXPIRED", connectError(Code.Unauthenticated, ErrorReason.TOKEN_EXPIRED), { kind: "refresh-token", reason: "expired" }],
    ["unauthenticated TOKEN_INVALID", connectError(Code.Unauthenticated, ErrorReason.TOKEN_INVALID), { kind: "refresh-token", reason: "rejected" }],
    ["unauthenticated without a reason", connectError(Code.Unauthenticated), { kind: "refresh-token", reason: "rejected" }],
  ];

  it.each(table)("%s", (_name, error, expected) => {
    expect(classifyFailure(error, false)).toEqual(expected);
  });

  it("covers every Connect code", () => {
    const codes = Object.values(Code).filter((value): value is Code => typeof value === "number");
    const covered = new Set(table.map(([, error]) => error.code));
    expect(codes.filter((code) => !covered.has(code))).toEqual([]);
  });

  it.each([Code.Canceled, Code.Aborted, Code.Unknown, Code.Unavailable, Code.InvalidArgument])(
    "is cancelled for code %s when our own signal fired",
    (code) => {
      expect(classifyFailure(connectError(code), true)).toEqual({ kind: "cancelled" });
    },
  );
});
