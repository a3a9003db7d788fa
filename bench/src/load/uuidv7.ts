import { randomFillSync } from "node:crypto";

const pool = Buffer.alloc(16 * 1024);
let poolOffset = pool.length;

/**
 * Returns a UUIDv7 (RFC 9562, section 5.7) in canonical lowercase form: 48
 * bits of Unix milliseconds, the version and variant bits, and 74 random
 * bits. Random bytes come from a refilled pool so that sending as fast as
 * possible does not pay for one crypto call per message.
 */
export function uuidv7(): string {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  pool.copy(bytes, 6, poolOffset, poolOffset + 10);
  poolOffset += 10;
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
