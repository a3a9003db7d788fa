/** Output of a finished command: the result table, the JUnit XML file and the Markdown file. */
import { constants } from "node:fs";
import { access, mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";

import { toJUnitXml } from "../report/junit.js";
import { toMarkdown } from "../report/markdown.js";
import { formatResultTable } from "../report/table.js";
import type { SuiteRun } from "../report/types.js";
import { EXIT_FAILED, EXIT_PASSED, UsageError } from "./args.js";

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
 * Checks before a run that the report files can be written: neither path is
 * a folder, and the nearest existing folder above each is writable. Throws a
 * UsageError naming the flag, so a long run does not end in a write error.
 */
export async function checkReportFiles(files: ReportFiles): Promise<void> {
  for (const [flag, file] of [["junit", files.junit], ["markdown", files.markdown]] as const) {
    if (file === undefined) continue;
    const path = resolve(file);
    const existing = await statOrUndefined(path);
    if (existing?.isDirectory()) throw new UsageError(`--${flag} ${JSON.stringify(file)} is a folder; give a file path`);

    let folder = dirname(path);
    let folderStat = await statOrUndefined(folder);
    while (folderStat === undefined && dirname(folder) !== folder) {
      folder = dirname(folder);
      folderStat = await statOrUndefined(folder);
    }
    if (folderStat !== undefined && !folderStat.isDirectory()) {
      throw new UsageError(`--${flag} ${JSON.stringify(file)} cannot be created: ${folder} is a file, not a folder`);
    }
    try {
      await access(existing === undefined ? folder : path, constants.W_OK);
    } catch {
      throw new UsageError(`--${flag} ${JSON.stringify(file)} cannot be written: ${existing === undefined ? folder : path} is not writable`);
    }
  }
}

/**
 * Prints the result table on stdout and writes the requested files.
 * Returns EXIT_FAILED when any case failed or a file could not be written,
 * else EXIT_PASSED.
 */
export async function finishRuns(
  runs: readonly SuiteRun[],
  files: ReportFiles,
  markdown: { title: string; preamble: string },
  io: CommandIo,
): Promise<number> {
  io.stdout.write(`\n${formatResultTable(runs)}`);
  let written = true;
  if (files.junit !== undefined) {
    written = (await writeReport("JUnit XML", files.junit, toJUnitXml(runs), io)) && written;
  }
  if (files.markdown !== undefined) {
    written = (await writeReport("Markdown summary", files.markdown, toMarkdown(runs, markdown), io)) && written;
  }
  const failed = runs.some((run) => run.results.some((result) => result.status === "fail"));
  return failed || !written ? EXIT_FAILED : EXIT_PASSED;
}

/** Writes one report file and prints its path. On failure it prints the error on stderr and returns false. */
async function writeReport(reportName: string, file: string, text: string, io: CommandIo): Promise<boolean> {
  const path = resolve(file);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text, "utf8");
  } catch (error) {
    io.stderr.write(`chatwire-conformance: writing the ${reportName} to ${path} failed: ${(error as Error).message}\n`);
    return false;
  }
  io.stdout.write(`${reportName} written to ${path}\n`);
  return true;
}

async function statOrUndefined(path: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    // ENOTDIR: a file is where the path needs a folder. The caller finds that file further up.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}
