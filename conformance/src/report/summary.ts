/** Counting and labelling results, shared by every reporter. */
import type { CaseResult, SuiteRun } from "./types.js";

/** How many cases of a run passed, failed and were skipped. */
export interface StatusCounts {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
}

export function countResults(results: readonly CaseResult[]): StatusCounts {
  const counts: StatusCounts = { total: results.length, passed: 0, failed: 0, skipped: 0 };
  for (const result of results) {
    if (result.status === "pass") counts.passed++;
    else if (result.status === "fail") counts.failed++;
    else counts.skipped++;
  }
  return counts;
}

/** Returns "3 passed, 1 failed, 2 skipped". */
export function describeCounts(counts: StatusCounts): string {
  return `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
}

/** Returns the case's id, with its protocol for server cases: "S4" or "server.send.replay [grpc]". */
export function caseLabel(result: Pick<CaseResult, "id" | "protocol">): string {
  return result.protocol === undefined ? result.id : `${result.id} [${result.protocol}]`;
}

/** Names a run by its implementation and suite: "node (client)". */
export function runLabel(run: SuiteRun): string {
  return `${run.claim.name} (${run.suite})`;
}

/** Returns the run's length in seconds, from its start and end times. */
export function runSeconds(run: SuiteRun): number {
  const ms = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  return Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0;
}

/** Returns the first line of `text`, cut to `max` characters with an ellipsis. */
export function firstLine(text: string, max: number): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** Strips ANSI colour and cursor sequences, which some assertion libraries put in messages. */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
}
