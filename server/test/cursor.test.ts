import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema, ErrorReason } from "@chatwire/gen";
import { describe, expect, it } from "vitest";
import { decodeCursor, issueCursor, resolveClientCursor } from "../src/rpc/cursor.js";

const EPOCH = "00112233445566778899aabbccddeeff";
const BOUNDS = { head: 10, prunedThrough: 2 };

/** Calls `run` and returns the ConnectError it throws. */
function thrown(run: () => unknown): ConnectError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    return error as ConnectError;
  }
  throw new Error("expected a ConnectError, but nothing was thrown");
}

describe("client cursors", () => {
  it("resolve to the position they were issued for", () => {
    const cursor = issueCursor(EPOCH, 7, "alice");
    expect(resolveClientCursor("cursor", cursor, "alice", EPOCH, BOUNDS)).toBe(7);
  });

  it("carry the log cursor and a user tag", () => {
    const cursor = issueCursor(EPOCH, 7, "alice");
    const logCursor = cursor.slice(0, cursor.lastIndexOf("."));
    expect(decodeCursor("cursor", logCursor)).toEqual({ epoch: EPOCH, position: 7 });
    expect(cursor.slice(cursor.lastIndexOf(".") + 1)).toMatch(/^[0-9a-f]{12}$/);
  });

  it("start at the oldest kept event when empty", () => {
    expect(resolveClientCursor("cursor", "", "alice", EPOCH, BOUNDS)).toBe(2);
  });

  it("are rejected for another user", () => {
    const error = thrown(() => resolveClientCursor("cursor", issueCursor(EPOCH, 7, "alice"), "bob", EPOCH, BOUNDS));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.findDetails(ErrorDetailSchema)[0]?.reason).toBe(ErrorReason.CURSOR_INVALID);
    expect(error.rawMessage).toContain("was issued to another user");
  });

  it("are rejected past the head of the log", () => {
    const error = thrown(() => resolveClientCursor("cursor", issueCursor(EPOCH, 11, "alice"), "alice", EPOCH, BOUNDS));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.findDetails(ErrorDetailSchema)[0]?.reason).toBe(ErrorReason.CURSOR_INVALID);
  });

  it("expire before the pruned position", () => {
    const error = thrown(() => resolveClientCursor("cursor", issueCursor(EPOCH, 1, "alice"), "alice", EPOCH, BOUNDS));
    expect(error.code).toBe(Code.OutOfRange);
    expect(error.findDetails(ErrorDetailSchema)[0]?.reason).toBe(ErrorReason.CURSOR_EXPIRED);
  });
});
