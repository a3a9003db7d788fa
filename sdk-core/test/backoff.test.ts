import { describe, expect, it } from "vitest";
import { backoffDelay } from "../src/connection/backoff.js";
import { seededRandom } from "./support/fake-clock.js";

const policy = { baseMs: 500, capMs: 30_000 };

describe("backoffDelay", () => {
  it("doubles the window with each attempt", () => {
    const almostOne = () => 0.999_999;
    expect(backoffDelay(0, policy, almostOne)).toBe(499);
    expect(backoffDelay(1, policy, almostOne)).toBe(999);
    expect(backoffDelay(3, policy, almostOne)).toBe(3_999);
  });

  it("never exceeds the cap", () => {
    const almostOne = () => 0.999_999;
    expect(backoffDelay(6, policy, almostOne)).toBe(29_999);
    expect(backoffDelay(60, policy, almostOne)).toBe(29_999);
    expect(backoffDelay(5_000, policy, almostOne)).toBe(29_999);
  });

  it("is zero when random returns zero (full jitter starts at 0)", () => {
    expect(backoffDelay(10, policy, () => 0)).toBe(0);
  });

  it("spreads delays over the whole window", () => {
    const random = seededRandom(7);
    const delays = Array.from({ length: 2_000 }, () => backoffDelay(4, policy, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(8_000);
    // Full jitter: about a quarter of the samples fall in each quarter of the window.
    const quarters = [0, 0, 0, 0];
    for (const delay of delays) quarters[Math.floor(delay / 2_000)]! += 1;
    for (const count of quarters) expect(count).toBeGreaterThan(400);
  });
});
