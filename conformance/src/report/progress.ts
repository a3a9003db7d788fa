/**
 * Progress while a suite runs. On a terminal it is one line, rewritten in
 * place: cases done of the total, failures so far and the case in progress,
 * with each failure also printed above it as it happens. Elsewhere (a CI
 * log, a file) it prints one plain line per finished case.
 */
import { caseLabel, firstLine, stripAnsi } from "./summary.js";
import type { CaseResult } from "./types.js";

/** The stream progress is written to, and whether it is a terminal. */
export interface ProgressOutput {
  write(text: string): unknown;
  /** True for a terminal, which gets the rewritten line. */
  isTTY?: boolean;
  /** Terminal width in characters; the live line is cut to fit. Default 80. */
  columns?: number;
}

/** Receives the events of a run and prints them. */
export interface ProgressReporter {
  /** A case started. `label` names it on the live line. */
  caseStarted(label: string): void;
  /** A case finished; `done` of `total` cases have finished. Pass as a suite's ResultListener. */
  caseFinished(result: CaseResult, done: number, total: number): void;
  /** Prints a line of other output (a log line) above the live line. */
  print(line: string): void;
  /** Clears the live line; call before printing anything else. */
  finish(): void;
}

/** Creates a reporter writing to `output`, with `prefix` (such as "client node") before each line. */
export function createProgressReporter(output: ProgressOutput, prefix: string): ProgressReporter {
  return output.isTTY === true ? liveLine(output, prefix) : plainLines(output, prefix);
}

function liveLine(output: ProgressOutput, prefix: string): ProgressReporter {
  let done = 0;
  let total = 0;
  let failed = 0;
  let current = "";
  let lineVisible = false;

  const clear = () => {
    if (lineVisible) output.write("\r\u001b[2K");
    lineVisible = false;
  };
  const draw = () => {
    const width = Math.max(20, (output.columns ?? 80) - 1);
    const failures = failed === 1 ? "1 failure" : `${failed} failures`;
    const text = `${prefix} ${done}/${total || "?"} · ${failures}${current ? ` · ${current}` : ""}`;
    clear();
    output.write(text.length > width ? `${text.slice(0, width - 1)}…` : text);
    lineVisible = true;
  };

  return {
    caseStarted(label) {
      current = label;
      draw();
    },
    caseFinished(result, doneCount, totalCount) {
      done = doneCount;
      total = totalCount;
      if (result.status === "fail") {
        failed++;
        clear();
        output.write(`${describeResult(prefix, result)}\n`);
      }
      // Without a caseStarted call the line names the case that finished last.
      current = `${result.status === "fail" ? "after" : "done"} ${caseLabel(result)}`;
      draw();
    },
    print(line) {
      const redraw = lineVisible;
      clear();
      output.write(`${line}\n`);
      if (redraw) draw();
    },
    finish: clear,
  };
}

function plainLines(output: ProgressOutput, prefix: string): ProgressReporter {
  return {
    caseStarted() {},
    caseFinished(result, done, total) {
      output.write(`[${done}/${total}] ${describeResult(prefix, result)}\n`);
    },
    print(line) {
      output.write(`${line}\n`);
    },
    finish() {},
  };
}

/** Formats one line for a finished case: "FAIL client node S4 title (2.1 s): reason". */
export function describeResult(prefix: string, result: CaseResult): string {
  const status = result.status === "fail" ? "FAIL" : result.status;
  const seconds = `${(result.durationMs / 1000).toFixed(1)} s`;
  const reason = result.reason ? `: ${firstLine(stripAnsi(result.reason), 200)}` : "";
  return `${status} ${prefix} ${caseLabel(result)} ${result.title} (${seconds})${reason}`;
}
