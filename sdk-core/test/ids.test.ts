import { describe, expect, it } from "vitest";
import { createIdGenerator, isUuidv7 } from "../src/ids.js";
import { FakeClock, seededRandom } from "./support/fake-clock.js";

describe("UUIDv7 ids", () => {
  it("have the canonical lowercase form with version 7 and variant 10", () => {
    const ids = createIdGenerator(new FakeClock(), seededRandom());
    for (let i = 0; i < 100; i++) expect(isUuidv7(ids.uuidv7())).toBe(true);
  });

  it("start with the clock's milliseconds", () => {
    const clock = new FakeClock(0x0190_1234_5678);
    const id = createIdGenerator(clock, seededRandom()).uuidv7();
    expect(id.slice(0, 13).replace("-", "")).toBe("019012345678");
  });

  it("sort in creation order within one millisecond", () => {
    const ids = createIdGenerator(new FakeClock(), seededRandom(3));
    const made = Array.from({ length: 5_000 }, () => ids.uuidv7());
    expect([...made].sort()).toEqual(made);
    expect(new Set(made).size).toBe(made.length);
  });

  it("stay ordered when the clock goes back", () => {
    let now = 1_000_000;
    const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
    const ids = createIdGenerator(clock, seededRandom(6));
    const before = ids.uuidv7();
    now = 990_000;
    const after = ids.uuidv7();
    expect(after > before).toBe(true);
  });

  it("advance the timestamp when the counter overflows", () => {
    const ids = createIdGenerator(new FakeClock(0x0190_0000_0000), () => 0.999_999);
    const made = Array.from({ length: 3_000 }, () => ids.uuidv7());
    expect([...made].sort()).toEqual(made);
    expect(made.at(-1)!.slice(0, 13).replace("-", "")).toBe("019000000001");
  });

  it("device ids are 22 characters of the allowed alphabet", () => {
    const ids = createIdGenerator(new FakeClock(), seededRandom());
    const id = ids.deviceId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(ids.deviceId()).not.toBe(id);
  });
});
