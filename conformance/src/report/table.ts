/**
 * The plain-text table printed at the end of a run: one row per case, one
 * column per implementation, each cell "pass", "FAIL [n]" or "skip [n]".
 * The numbered notes under the table give each failure's and skip's reason,
 * and a last line per implementation gives its counts.
 */
import { caseLabel, countResults, describeCounts, firstLine, runLabel, stripAnsi } from "./summary.js";
import type { CaseResult, SuiteRun } from "./types.js";

/** Maximum length of a case title in a row, in characters. */
const TITLE_WIDTH = 60;
/** Maximum length of a reason in a note, in characters. */
const REASON_WIDTH = 300;

/** Renders the runs as a text table followed by notes and totals, ending in a newline. */
export function formatResultTable(runs: readonly SuiteRun[]): string {
  const columns = runs.map(runLabel);
  const rows = new Map<string, { label: string; cells: string[] }>();
  const notes: string[] = [];

  runs.forEach((run, column) => {
    for (const result of run.results) {
      // Storage cases share an id per contract group, so the title is part of the key.
      const key = `${result.suite} ${caseLabel(result)} ${result.title}`;
      let row = rows.get(key);
      if (!row) {
        row = { label: `${caseLabel(result)} ${firstLine(result.title, TITLE_WIDTH)}`, cells: columns.map(() => "-") };
        rows.set(key, row);
      }
      row.cells[column] = cellText(result, columns[column]!, notes);
    }
  });

  const header = ["case", ...columns];
  const body = [...rows.values()].map((row) => [row.label, ...row.cells]);
  const widths = header.map((title, index) => Math.max(title.length, ...body.map((cells) => cells[index]!.length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, index) => cell.padEnd(widths[index]!))
      .join("  ")
      .trimEnd();

  const lines = [format(header), format(widths.map((width) => "-".repeat(width))), ...body.map(format)];
  if (notes.length > 0) lines.push("", ...notes);
  lines.push("");
  for (const run of runs) lines.push(`${runLabel(run)}: ${describeCounts(countResults(run.results))}`);
  return `${lines.join("\n")}\n`;
}

function cellText(result: CaseResult, column: string, notes: string[]): string {
  if (result.status === "pass") return "pass";
  const number = notes.length + 1;
  const reason = firstLine(stripAnsi(result.reason ?? "no reason given"), REASON_WIDTH);
  notes.push(`[${number}] ${column} ${caseLabel(result)}: ${reason}`);
  return `${result.status === "fail" ? "FAIL" : "skip"} [${number}]`;
}
