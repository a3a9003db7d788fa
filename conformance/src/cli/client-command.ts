/** `chatwire-conformance client`: the end-to-end scenarios on one client runtime. */
import { parseArgs } from "node:util";

import { createProgressReporter } from "../report/progress.js";
import { createNodeRuntime } from "../runtimes/node.js";
import type { ClientRuntime } from "../runtimes/types.js";
import { scenarios } from "../scenarios/index.js";
import { runClientSuite } from "../suites/client-suite.js";
import { COMMON_OPTIONS, EXIT_PASSED, parseCommandArgs, textFilter, UsageError } from "./args.js";
import { checkReportFiles, finishRuns, type CommandIo } from "./output.js";

/** Runtimes the command accepts. Only "node" runs in this version, and openRuntime rejects the others. */
const RUNTIMES = ["node", "browser", "sqlite-wasm"] as const;
type RuntimeName = (typeof RUNTIMES)[number];

export const CLIENT_HELP = `Usage: chatwire-conformance client --runtime NAME [options]

Runs the end-to-end client scenarios on one client runtime. Each scenario
starts its own reference server (server/dist, so build first) on 127.0.0.1
with SQLite files in a temporary folder. Scenarios of profiles the runtime
does not claim are reported as skipped, with the runtime's reason.

Options:
  --runtime NAME     the runtime under test: node, browser or sqlite-wasm (required)
  --filter TEXT      run only the scenarios whose id or title contains TEXT (any case)
  --junit FILE       write JUnit XML to FILE (folders are created)
  --markdown FILE    write a Markdown summary to FILE
  --verbose          print every scenario step
  -h, --help         show this help

Exit status: 0 when every scenario that ran passed, 1 when one failed,
2 for an invalid command line or a runtime that is not available.`;

const OPTIONS = { runtime: { type: "string" }, ...COMMON_OPTIONS } as const;

/** Runs the command and returns its exit status; throws UsageError for command-line mistakes. */
export async function clientCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs("client", () =>
    parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }),
  );
  if (values.help) {
    io.stdout.write(`${CLIENT_HELP}\n`);
    return EXIT_PASSED;
  }
  if (values.runtime === undefined) {
    throw new UsageError(`missing --runtime; use one of ${RUNTIMES.join(", ")}`);
  }
  const runtimeName = values.runtime as RuntimeName;
  if (!RUNTIMES.includes(runtimeName)) {
    throw new UsageError(`--runtime ${JSON.stringify(values.runtime)} is unknown; use one of ${RUNTIMES.join(", ")}`);
  }
  const filter = textFilter(values.filter);
  if (filter && !scenarios.some(filter)) {
    throw new UsageError(`--filter ${JSON.stringify(values.filter)} matches no scenario id or title`);
  }
  await checkReportFiles(values);

  const progress = createProgressReporter(io.stderr, `client ${runtimeName}`);
  const runtime = await openRuntime(runtimeName, (line) => progress.print(line));
  let run;
  try {
    run = await runClientSuite({
      runtime,
      ...(filter ? { filter } : {}),
      onCaseStart: (scenario) => progress.caseStarted(`${scenario.id} ${scenario.title}`),
      onResult: (result, done, total) => progress.caseFinished(result, done, total),
      ...(values.verbose ? { log: (line: string) => progress.print(line) } : {}),
    });
  } finally {
    progress.finish();
    await runtime.close();
  }

  return finishRuns([run], values, {
    title: `chatwire conformance: client runtime ${runtime.name}`,
    preamble: `Scenarios run on the ${runtime.name} runtime by \`chatwire-conformance client\` on ${new Date().toISOString()}.`,
  }, io);
}

async function openRuntime(name: RuntimeName, print: (line: string) => void): Promise<ClientRuntime> {
  switch (name) {
    case "node":
      return createNodeRuntime({ onHostLog: print });
    case "browser":
    case "sqlite-wasm":
      // TODO: create these runtimes here once runtimes/browser and runtimes/sqlite-wasm exist.
      throw new UsageError(
        `the ${name} runtime is not available yet: runtimes/${name} has no conformance runtime in this version; use --runtime node`,
      );
  }
}
