import { ConnectError, type Code } from "@connectrpc/connect";
import { ErrorDetailSchema, type ErrorDetail, type ErrorReason } from "@chatwire/gen";
import { expect } from "vitest";

/** Awaits a rejection and checks its Connect code and, when given, its ErrorDetail reason. */
export async function expectConnectError(
  promise: Promise<unknown>,
  code: Code,
  reason?: ErrorReason,
): Promise<{ error: ConnectError; detail: ErrorDetail | undefined }> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome, "expected a rejection").toBeInstanceOf(ConnectError);
  const error = outcome as ConnectError;
  expect(error.code, error.message).toBe(code);
  const detail = error.findDetails(ErrorDetailSchema)[0];
  if (reason !== undefined) expect(detail?.reason, error.message).toBe(reason);
  return { error, detail };
}
