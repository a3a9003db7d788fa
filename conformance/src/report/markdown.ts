/**
 * A Markdown summary of conformance runs: an overview of every suite run,
 * then one section per implementation with its claimed profiles, its
 * counts, the gaps it declared and a table of its cases with their
 * guarantee tags.
 */
import { guaranteeId } from "../tags.js";
import { caseLabel, countResults, describeCounts, firstLine, runLabel, stripAnsi } from "./summary.js";
import type { CaseResult, SuiteRun } from "./types.js";

/** Options of toMarkdown. */
export interface MarkdownOptions {
  /** The document's level-1 heading. Default "chatwire conformance". */
  title?: string;
  /** Paragraphs placed under the heading, as Markdown (not escaped). */
  preamble?: string;
  /** Maximum length of a failure or skip reason in a table cell, in characters. Default 160. */
  maxReasonLength?: number;
}

/** Renders the runs as one Markdown document. */
export function toMarkdown(runs: readonly SuiteRun[], options: MarkdownOptions = {}): string {
  const maxReason = options.maxReasonLength ?? 160;
  const lines = [`# ${options.title ?? "chatwire conformance"}`, ""];
  if (options.preamble) lines.push(options.preamble.trim(), "");

  lines.push("| suite | implementation | claimed profiles | passed | failed | skipped |", "|---|---|---|---:|---:|---:|");
  for (const run of runs) {
    const counts = countResults(run.results);
    lines.push(
      row([
        run.suite,
        escapeMarkdown(run.claim.name),
        escapeMarkdown(run.claim.profiles.join(", ") || "none"),
        String(counts.passed),
        counts.failed > 0 ? `**${counts.failed}**` : "0",
        String(counts.skipped),
      ]),
    );
  }
  lines.push("");

  for (const run of runs) lines.push(...runSection(run, maxReason));
  return `${lines.join("\n").trimEnd()}\n`;
}

function runSection(run: SuiteRun, maxReason: number): string[] {
  const counts = countResults(run.results);
  const lines = [
    `## ${escapeMarkdown(runLabel(run))}`,
    "",
    `Claimed profiles: ${escapeMarkdown(run.claim.profiles.join(", ") || "none")}.`,
    `Cases: ${counts.total} (${describeCounts(counts)}).`,
    "",
  ];
  if (run.claim.gaps.length > 0) {
    lines.push("Declared gaps:", "");
    for (const gap of run.claim.gaps) lines.push(`- ${gap.profile}: ${escapeMarkdown(gap.reason)}`);
    lines.push("");
  }
  if (run.results.length === 0) {
    lines.push("No cases ran.", "");
    return lines;
  }

  lines.push("| case | title | profile | guarantees | result | note |", "|---|---|---|---|---|---|");
  for (const result of run.results) {
    lines.push(
      row([
        escapeMarkdown(caseLabel(result)),
        escapeMarkdown(result.title),
        result.profile,
        result.guarantees.map(guaranteeId).join(", "),
        statusCell(result),
        escapeMarkdown(firstLine(stripAnsi(result.reason ?? ""), maxReason)),
      ]),
    );
  }
  lines.push("");
  return lines;
}

function statusCell(result: CaseResult): string {
  if (result.status === "fail") return "**FAIL**";
  return result.status;
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/**
 * Escapes text for a table cell or list item: Markdown punctuation gets a
 * backslash, `&`, `<` and `>` become entities so no HTML is rendered, and
 * line breaks become spaces because a table row is one line.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\r\n|\r|\n/g, " ")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_[\]|#~])/g, "\\$1");
}
