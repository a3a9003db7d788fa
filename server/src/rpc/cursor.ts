/**
 * Sync cursors. A log cursor is base64url text of "c1.<log epoch>.<position>":
 * the position of the last event a device applied, bound to the log epoch of
 * the database that issued it. Clients see "<log cursor>.<user tag>", where
 * the tag binds the cursor to one user's log (see bindCursor). Clients treat
 * both parts as one opaque string.
 *
 * Handlers use only issueCursor and resolveClientCursor, so that the
 * client-visible form is built and checked in this file alone.
 */
import { createHash } from "node:crypto";
import type { LogBounds } from "../store/types.js";
import { cursorExpired, cursorInvalid, cursorOfAnotherUser } from "./errors.js";

const CURSOR_TEXT = /^c1\.([0-9a-f]{1,64})\.(0|[1-9][0-9]{0,15})$/;

export function encodeCursor(epoch: string, position: number): string {
  return Buffer.from(`c1.${epoch}.${position}`).toString("base64url");
}

/** Parses a cursor, or throws invalid_argument (CURSOR_INVALID) for text this server never issued. */
export function decodeCursor(field: string, cursor: string): { epoch: string; position: number } {
  if (cursor.length > 200) throw cursorInvalid(field, "it is too long");
  const match = CURSOR_TEXT.exec(Buffer.from(cursor, "base64url").toString("latin1"));
  const position = Number(match?.[2]);
  if (match === null || match[1] === undefined || !Number.isSafeInteger(position)) {
    throw cursorInvalid(field, "it is malformed");
  }
  return { epoch: match[1], position };
}

/**
 * Resolves a request cursor to the position after which to read. An empty
 * cursor starts at the oldest event kept. A cursor from another log epoch or
 * older than retention throws out_of_range (CURSOR_EXPIRED); one past the
 * head of the log throws invalid_argument (CURSOR_INVALID).
 */
export function resolveCursor(field: string, cursor: string, epoch: string, bounds: LogBounds): number {
  if (cursor === "") return bounds.prunedThrough;
  const decoded = decodeCursor(field, cursor);
  if (decoded.epoch !== epoch) {
    throw cursorExpired(field, "it belongs to an event log this server no longer has");
  }
  if (decoded.position > bounds.head) {
    throw cursorInvalid(field, `it points to position ${decoded.position}, past the end of the log at ${bounds.head}`);
  }
  if (decoded.position < bounds.prunedThrough) {
    throw cursorExpired(field, "the events after it were deleted by retention");
  }
  return decoded.position;
}

/**
 * The user tag: 48 bits of SHA-256 over the log epoch and the user id, in
 * hex. It is a checksum against using one user's cursor in another user's
 * call, not a secret: a user who forges a tag for their own id reaches only
 * their own log, whose positions resolveCursor checks anyway.
 */
function userTag(epoch: string, userId: string): string {
  return createHash("sha256").update(`${epoch}\n${userId}`).digest("hex").slice(0, 12);
}

/** Appends the user tag to a log cursor from encodeCursor; the result is what clients see. */
export function bindCursor(logCursor: string, epoch: string, userId: string): string {
  return `${logCursor}.${userTag(epoch, userId)}`;
}

/**
 * Checks a client cursor's user tag and returns its log cursor ("" for an
 * empty cursor). Throws invalid_argument (CURSOR_INVALID) for a cursor of
 * another user and for one without a tag.
 */
export function unbindCursor(field: string, cursor: string, userId: string): string {
  if (cursor === "") return "";
  const dot = cursor.lastIndexOf(".");
  if (dot < 0) throw cursorInvalid(field, "it has no user tag");
  const logCursor = cursor.slice(0, dot);
  const { epoch } = decodeCursor(field, logCursor);
  if (cursor.slice(dot + 1) !== userTag(epoch, userId)) throw cursorOfAnotherUser(field);
  return logCursor;
}

/** Builds the cursor a client receives for `position` in the user's log. */
export function issueCursor(epoch: string, position: number, userId: string): string {
  return bindCursor(encodeCursor(epoch, position), epoch, userId);
}

/**
 * Checks a client cursor's user tag and returns the position after which to
 * read, as resolveCursor does. Throws the errors of unbindCursor and
 * resolveCursor.
 */
export function resolveClientCursor(
  field: string,
  cursor: string,
  userId: string,
  epoch: string,
  bounds: LogBounds,
): number {
  return resolveCursor(field, unbindCursor(field, cursor, userId), epoch, bounds);
}
