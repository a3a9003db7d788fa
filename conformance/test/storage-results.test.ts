import { describe, expect, it } from "vitest";

import { storageRunsFromVitest, type VitestJsonReport } from "../scripts/storage-results.js";
import type { Claim } from "../src/tags.js";

const CLAIMS: Claim[] = [
  { name: "node sqlite", profiles: ["core", "offline"], gaps: [] },
  { name: "memory", profiles: ["core"], gaps: [{ profile: "offline", reason: "memory storage keeps nothing across instances" }] },
];

const REPORT: VitestJsonReport = {
  startTime: Date.parse("2025-01-01T00:00:00.000Z"),
  testResults: [
    {
      endTime: Date.parse("2025-01-01T00:00:03.000Z"),
      assertionResults: [
        { ancestorTitles: ["storage contract", "memory", "outbox"], title: "lists nothing when empty", status: "passed", duration: 1.4, failureMessages: [] },
        { ancestorTitles: ["storage contract", "memory", "across reopen"], title: "keeps every committed record", status: "skipped", duration: 0, failureMessages: [] },
        {
          ancestorTitles: ["storage contract", "node sqlite", "messages", "ranges over seq 1 to 20"],
          title: "excludes both bounds themselves",
          status: "failed",
          duration: 12.6,
          failureMessages: ["AssertionError: expected [ 5 ] to deeply equal []\n    at messages.ts:114:7"],
        },
        { ancestorTitles: ["storage contract", "node sqlite", "pending read marks"], title: "survive a reopen", status: "passed", duration: 3, failureMessages: [] },
        { ancestorTitles: ["another suite"], title: "is not part of the contract", status: "passed", duration: 1, failureMessages: [] },
      ],
    },
  ],
};

describe("storage results from vitest JSON", () => {
  const runs = storageRunsFromVitest(REPORT, CLAIMS);

  it("makes one run per adapter in claim order", () => {
    expect(runs.map((run) => run.claim.name)).toEqual(["node sqlite", "memory"]);
    expect(runs[0]!.suite).toBe("storage");
    expect(runs[0]!.startedAt).toBe("2025-01-01T00:00:00.000Z");
    expect(runs[0]!.finishedAt).toBe("2025-01-01T00:00:03.000Z");
  });

  it("keeps a failure's first line and whole text", () => {
    const failed = runs[0]!.results[0]!;
    expect(failed).toMatchObject({
      implementation: "node sqlite",
      id: "messages › ranges over seq 1 to 20",
      title: "excludes both bounds themselves",
      status: "fail",
      reason: "AssertionError: expected [ 5 ] to deeply equal []",
      profile: "core",
      guarantees: ["G4 one order for everyone"],
      durationMs: 13,
    });
    expect(failed.detail).toContain("at messages.ts:114:7");
  });

  it("tags reopen tests with the offline profile", () => {
    expect(runs[0]!.results[1]).toMatchObject({ id: "pending read marks", title: "survive a reopen", profile: "offline", status: "pass" });
    expect(runs[1]!.results[1]).toMatchObject({ profile: "offline", status: "skip", reason: "memory storage keeps nothing across instances" });
  });

  it("ignores tests outside the contract", () => {
    const titles = runs.flatMap((run) => run.results.map((result) => result.title));
    expect(titles).not.toContain("is not part of the contract");
    expect(titles).toHaveLength(4);
  });

  it("rejects an adapter without a claim", () => {
    expect(() => storageRunsFromVitest(REPORT, CLAIMS.slice(0, 1))).toThrow('storage adapter "memory" has no claim');
  });
});
