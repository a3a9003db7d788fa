/**
 * JUnit XML, the format CI systems (GitHub Actions reporters, GitLab,
 * Jenkins) read test results from. One `<testsuite>` per suite run (suite
 * and implementation), one `<testcase>` per case and protocol, with
 * `<failure>` carrying the first line as its message and the whole failure
 * as text, and `<skipped>` carrying the reason.
 */
import { caseLabel, countResults, runSeconds, stripAnsi } from "./summary.js";
import type { CaseResult, SuiteRun } from "./types.js";

/** Options of toJUnitXml. */
export interface JUnitOptions {
  /** Name of the root `<testsuites>` element. Default "chatwire conformance". */
  name?: string;
}

/** Renders the runs as one JUnit XML document (UTF-8, XML 1.0). */
export function toJUnitXml(runs: readonly SuiteRun[], options: JUnitOptions = {}): string {
  const all = runs.flatMap((run) => run.results);
  const totals = countResults(all);
  const seconds = runs.reduce((sum, run) => sum + runSeconds(run), 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attributes({
      name: options.name ?? "chatwire conformance",
      tests: totals.total,
      failures: totals.failed,
      errors: 0,
      skipped: totals.skipped,
      time: formatSeconds(seconds),
    })}>`,
  ];
  for (const run of runs) lines.push(...suiteElement(run));
  lines.push("</testsuites>", "");
  return lines.join("\n");
}

function suiteElement(run: SuiteRun): string[] {
  const counts = countResults(run.results);
  const lines = [
    `  <testsuite${attributes({
      name: `${run.suite}: ${run.claim.name}`,
      tests: counts.total,
      failures: counts.failed,
      errors: 0,
      skipped: counts.skipped,
      time: formatSeconds(runSeconds(run)),
      timestamp: run.startedAt,
    })}>`,
    "    <properties>",
    `      <property${attributes({ name: "profiles", value: run.claim.profiles.join(",") })}/>`,
  ];
  for (const gap of run.claim.gaps) {
    lines.push(`      <property${attributes({ name: `gap.${gap.profile}`, value: gap.reason })}/>`);
  }
  lines.push("    </properties>");
  for (const result of run.results) lines.push(...caseElement(result));
  lines.push("  </testsuite>");
  return lines;
}

/**
 * Turns an implementation name into one classname segment: CI systems such
 * as Jenkins split classnames at dots into packages, and a name may be a URL.
 */
function classnamePart(implementation: string): string {
  return implementation.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "") || "unnamed";
}

function caseElement(result: CaseResult): string[] {
  const open = `    <testcase${attributes({
    name: `${caseLabel(result)} ${result.title}`,
    classname: `${result.suite}.${classnamePart(result.implementation)}`,
    time: formatSeconds(result.durationMs / 1000),
  })}`;
  switch (result.status) {
    case "pass":
      return [`${open}/>`];
    case "skip":
      return [`${open}>`, `      <skipped${attributes({ message: result.reason ?? "skipped" })}/>`, "    </testcase>"];
    case "fail": {
      const message = result.reason ?? "failed";
      return [
        `${open}>`,
        `      <failure${attributes({ message, type: "AssertionError" })}>${escapeText(result.detail ?? message)}</failure>`,
        "    </testcase>",
      ];
    }
  }
}

function formatSeconds(seconds: number): string {
  return seconds.toFixed(3);
}

function attributes(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([name, value]) => ` ${name}="${escapeAttribute(String(value))}"`)
    .join("");
}

/**
 * Characters XML 1.0 forbids anywhere, even escaped: C0 controls other than
 * tab, newline and carriage return, lone surrogates, U+FFFE and U+FFFF.
 */
const FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Removes ANSI sequences and replaces characters XML cannot carry with U+FFFD. */
function xmlSafe(text: string): string {
  return stripAnsi(text).replace(FORBIDDEN, "\uFFFD");
}

/** Escapes element text. `>` is escaped too, so that "]]>" never appears. */
export function escapeText(text: string): string {
  return xmlSafe(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Escapes an attribute value; tabs and line breaks become character references so parsers keep them. */
export function escapeAttribute(text: string): string {
  return escapeText(text)
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/\t/g, "&#9;")
    .replace(/\n/g, "&#10;")
    .replace(/\r/g, "&#13;");
}
