/**
 * Converts vitest's JSON report of the storage contract run
 * (test/storage.test.ts) into one SuiteRun per storage adapter, tagged with
 * the profile and guarantees of each group of contract tests.
 */
import type { CaseResult, CaseStatus, SuiteRun } from "../src/report/types.js";
import type { Claim, Guarantee, Profile } from "../src/tags.js";

/** The parts of vitest's JSON reporter output this converter reads. */
export interface VitestJsonReport {
  startTime: number;
  testResults: Array<{
    startTime?: number;
    endTime?: number;
    assertionResults: Array<{
      ancestorTitles: string[];
      title: string;
      status: string;
      duration?: number | null;
      failureMessages: string[];
    }>;
  }>;
}

/** Profile and guarantees of each group of the storage contract, by its describe title. */
const GROUPS: Record<string, { profile: Profile; guarantees: Guarantee[] }> = {
  meta: { profile: "core", guarantees: ["G5 differential sync by cursor"] },
  conversations: { profile: "core", guarantees: ["G8 receipts and multi-device"] },
  messages: { profile: "core", guarantees: ["G4 one order for everyone"] },
  outbox: { profile: "core", guarantees: ["G1 durable local accept", "G2 exactly-once effect"] },
  "pending read marks": { profile: "core", guarantees: ["G8 receipts and multi-device"] },
  transactions: { profile: "core", guarantees: ["G5 differential sync by cursor"] },
  clearSyncedState: { profile: "core", guarantees: ["G7 gap and expiry detection"] },
  close: { profile: "core", guarantees: ["G1 durable local accept"] },
  "across reopen": { profile: "offline", guarantees: ["G1 durable local accept"] },
  "migrations from the previous schema version": { profile: "offline", guarantees: ["G1 durable local accept"] },
  values: { profile: "core", guarantees: ["G13 bad input is an error"] },
};

/** Titles of tests whose data must outlive the storage instance; they belong to "offline" whatever their group. */
const SURVIVES_REOPEN = /\breopen\b/;

/** The outer describe title of describeStorageContract. */
const CONTRACT_TITLE = "storage contract";

/**
 * Returns one SuiteRun per adapter found in `report`, in the order of
 * `claims`. A skipped test gets the reason of the adapter's declared gap
 * for its profile: vitest's JSON output does not carry skip notes.
 */
export function storageRunsFromVitest(report: VitestJsonReport, claims: readonly Claim[]): SuiteRun[] {
  const byAdapter = new Map<string, CaseResult[]>();
  let finishedAt = report.startTime;

  for (const file of report.testResults) {
    finishedAt = Math.max(finishedAt, file.endTime ?? 0);
    for (const test of file.assertionResults) {
      const [contract, adapter, group, ...inner] = test.ancestorTitles;
      if (contract !== CONTRACT_TITLE || adapter === undefined || group === undefined) continue;
      const claim = claims.find((candidate) => candidate.name === adapter);
      if (claim === undefined) throw new Error(`storage adapter ${JSON.stringify(adapter)} has no claim; add one to the claims`);

      const tags = GROUPS[group] ?? { profile: "core" as const, guarantees: [] };
      const profile = SURVIVES_REOPEN.test(test.title) ? "offline" : tags.profile;
      const status = toStatus(test.status);
      const failure = test.failureMessages.join("\n\n");
      const result: CaseResult = {
        suite: "storage",
        implementation: adapter,
        // The describe path; the title tells the tests of one group apart.
        id: [group, ...inner].join(" › "),
        title: test.title,
        profile,
        guarantees: tags.guarantees,
        status,
        durationMs: Math.round(test.duration ?? 0),
      };
      if (status === "fail") {
        result.reason = failure.split("\n", 1)[0] || "failed";
        result.detail = failure;
      } else if (status === "skip") {
        result.reason = skipReason(claim, profile);
      }
      const results = byAdapter.get(adapter) ?? [];
      results.push(result);
      byAdapter.set(adapter, results);
    }
  }

  const startedAt = new Date(report.startTime).toISOString();
  return claims
    .filter((claim) => byAdapter.has(claim.name))
    .map((claim) => ({
      suite: "storage" as const,
      claim,
      results: byAdapter.get(claim.name) ?? [],
      startedAt,
      finishedAt: new Date(finishedAt).toISOString(),
    }));
}

function toStatus(vitestStatus: string): CaseStatus {
  if (vitestStatus === "passed") return "pass";
  if (vitestStatus === "failed") return "fail";
  return "skip";
}

function skipReason(claim: Claim, profile: Profile): string {
  const gap = claim.gaps.find((entry) => entry.profile === profile);
  if (gap !== undefined) return gap.reason;
  return "skipped by the storage contract; vitest's JSON output does not say why";
}
