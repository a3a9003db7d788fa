/** Output of a finished command: the result table, the JUnit XML file and the Markdown file. */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";

import { toJUnitXml } from "../report/junit.js";
import { toMarkdown } from "../report/markdown.js";
import { formatResultTable } from "../report/table.js";
import type { SuiteRun } from "../report/types.js";
import { EXIT_FAILED, EXIT_PASSED } from "./args.js";

/** The streams a command writes to; process.stdout and process.stderr in the CLI. */
export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
}

/** Report files a command writes, from --junit and --markdown. */
export interface ReportFiles {
  junit?: string | undefined;
  markdown?: string | undefined;
}

/**
 * Prints the result table on stdout and writes the requested files.
 * Returns EXIT_FAILED when any case failed, else EXIT_PASSED.
 */
export async function finishRuns(
  runs: readonly SuiteRun[],
  files: ReportFiles,
  markdown: { title: string; preamble: string },
  io: CommandIo,
): Promise<number> {
  io.stdout.write(`\n${formatResultTable(runs)}`);
  if (files.junit !== undefined) {
    const path = await writeReport(files.junit, toJUnitXml(runs));
    io.stdout.write(`JUnit XML written to ${path}\n`);
  }
  if (files.markdown !== undefined) {
    const path = await writeReport(files.markdown, toMarkdown(runs, markdown));
    io.stdout.write(`Markdown summary written to ${path}\n`);
  }
  const failed = runs.some((run) => run.results.some((result) => result.status === "fail"));
  return failed ? EXIT_FAILED : EXIT_PASSED;
}

async function writeReport(file: string, text: string): Promise<string> {
  const path = resolve(file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, "utf8");
  return path;
}
