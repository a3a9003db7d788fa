import { Code } from "@connectrpc/connect";
import { ChatError } from "./errors/chat-error.js";

/**
 * Returns the UTF-8 length of `text` in bytes, or throws when the text has an
 * unpaired UTF-16 surrogate (which has no UTF-8 encoding, so Protobuf would
 * replace it and the server would not store the text byte for byte).
 */
export function utf8ByteLength(text: string, field: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw unpairedSurrogate(field, i);
      bytes += 4;
      i += 1;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      throw unpairedSurrogate(field, i);
    } else bytes += 3;
  }
  return bytes;
}

function unpairedSurrogate(field: string, index: number): ChatError {
  return new ChatError(
    Code.InvalidArgument,
    `${field} has an unpaired UTF-16 surrogate at index ${index}, which cannot be encoded as UTF-8; remove or replace it`,
  );
}

/**
 * Checks message text before it is queued: not empty, valid UTF-16, and at
 * most `maxBytes` UTF-8 bytes when the server's limit is known.
 */
export function validateMessageText(text: string, maxBytes: number | undefined): void {
  if (typeof text !== "string") {
    throw new ChatError(Code.InvalidArgument, `text is ${typeof text}; pass a string`);
  }
  const bytes = utf8ByteLength(text, "text");
  if (bytes === 0) {
    throw new ChatError(Code.InvalidArgument, "text is empty; a message needs at least 1 byte of UTF-8 text");
  }
  if (maxBytes !== undefined && maxBytes > 0 && bytes > maxBytes) {
    throw new ChatError(
      Code.InvalidArgument,
      `text is ${formatCount(bytes)} bytes of UTF-8; the server's limit is ${formatCount(maxBytes)} bytes. Shorten it or split it into several messages`,
    );
  }
}

function formatCount(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
