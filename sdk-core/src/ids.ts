import type { Clock } from "./options.js";

/**
 * A UUIDv7 generator (RFC 9562, section 5.7): 48 bits of Unix milliseconds,
 * then 12 bits of rand_a used as a counter, then 62 random bits. Ids from one
 * generator sort in creation order even within one millisecond: the counter
 * follows RFC 9562 section 6.2 method 1 (a fixed-length dedicated counter,
 * seeded randomly each millisecond with its top bit clear so it has room to
 * grow). When the counter overflows, or the clock goes back, the generator
 * advances its own timestamp by one millisecond instead.
 */
export interface IdGenerator {
  /** Returns a new UUIDv7 in canonical lowercase 8-4-4-4-12 form. */
  uuidv7(): string;
  /** Returns a new device id: 22 characters of [A-Za-z0-9_-] (128 random bits). */
  deviceId(): string;
}

export function createIdGenerator(clock: Clock, random: () => number): IdGenerator {
  let lastMs = -1;
  let counter = 0;

  const randomBits = (bits: number): number => Math.floor(random() * 2 ** bits);

  return {
    uuidv7(): string {
      let ms = Math.floor(clock.now());
      if (ms > lastMs) {
        lastMs = ms;
        counter = randomBits(11);
      } else {
        counter += 1;
        if (counter > 0xfff) {
          lastMs += 1;
          counter = randomBits(11);
        }
        ms = lastMs;
      }

      const hex =
        ms.toString(16).padStart(12, "0").slice(-12) +
        "7" +
        counter.toString(16).padStart(3, "0") +
        (0x8 | randomBits(2)).toString(16) +
        randomBits(12).toString(16).padStart(3, "0") +
        randomBits(24).toString(16).padStart(6, "0") +
        randomBits(24).toString(16).padStart(6, "0");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    },

    deviceId(): string {
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      let id = "";
      for (let i = 0; i < 22; i++) id += alphabet[randomBits(6)];
      return id;
    },
  };
}

const uuidv7Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Tells whether `value` is a UUIDv7 in canonical lowercase form. */
export function isUuidv7(value: string): boolean {
  return uuidv7Pattern.test(value);
}
