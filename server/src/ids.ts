/** Identifiers the server assigns. */
import { randomFillSync } from "node:crypto";

// One randomFillSync call per 4 KiB of ids: a call per id costs more than the
// rest of the id generation on paths that run once per request or message.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** `length` fresh random bytes (at most 4096), copied out of the shared pool. */
function randomFromPool(length: number): Buffer {
  if (poolOffset + length > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, poolOffset + length));
  poolOffset += length;
  return bytes;
}

/**
 * Generates a UUIDv7 (RFC 9562): a 48-bit Unix time in milliseconds, then
 * random bits, so ids sort roughly by creation time and need no coordination.
 */
export function uuidV7(nowMs: number = Date.now()): string {
  const bytes = randomFromPool(16);
  bytes.writeUIntBE(nowMs, 0, 6);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Generates a short random id that ties the log lines of one request together. */
export function requestId(): string {
  return randomFromPool(8).toString("hex");
}
