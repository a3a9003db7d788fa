// Runs chatwire's benchmarks and prints a table of figures next to their
// targets. Start it with `npm run bench` (add `-- --help` for options).
import { parseArgs } from "node:util";

import { BENCH_SERVER_ARGS } from "./benches/bench-server.js";
import { runCatchupBench } from "./benches/catchup.js";
import { DEPLOYMENTS, describeUrl, type DeploymentName } from "./benches/deployment.js";
import { runLatencyBench } from "./benches/latency.js";
import { runMemoryBench } from "./benches/memory.js";
import { runThroughputBench } from "./benches/throughput.js";
import type { BenchReport, BenchSettings } from "./benches/types.js";
import { describeMachine } from "./machine.js";
import { formatTable } from "./table.js";

const BENCHMARKS = {
  throughput: runThroughputBench,
  latency: runLatencyBench,
  catchup: runCatchupBench,
  memory: runMemoryBench,
} as const;
type BenchName = keyof typeof BENCHMARKS;

const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

const HELP = `Usage: npm run bench -- [options]

Runs each benchmark against its own chatwire server processes, with the load
in separate processes on 127.0.0.1, and prints the figures next to the targets.
Throughput and latency run on each setup named by --deployments; memory runs on
SQLite and, when a PostgreSQL setup is named, on one PostgreSQL node too;
catch-up runs on SQLite.

Options:
  --only <names>     Comma-separated benchmarks to run: throughput, latency, catchup, memory. Default: all.
  --deployments <names>
                     Comma-separated setups: sqlite (one node, embedded SQLite), postgres-1 (one node on
                     PostgreSQL with the Redis fan-out), postgres-3 (three nodes sharing one PostgreSQL
                     schema and one Redis; each pair's sender and receiver use different nodes).
                     A PostgreSQL setup that cannot reach PostgreSQL or Redis is skipped with a printed
                     line. Default: sqlite,postgres-1,postgres-3.
  --database-url <url>
                     PostgreSQL database of the postgres-* setups. Each run creates a schema
                     chatwire_test_<random> there and drops it afterwards.
                     Default: postgres://postgres@127.0.0.1:5432/test.
  --redis-url <url>  Redis of the postgres-* setups. Default: redis://127.0.0.1:6379.
  --runs <n>         Runs per benchmark where a median is taken. Default: throughput 3, latency 3, catchup 5.
  --seconds <n>      Measured seconds of throughput and latency, after a 2 s warm-up. Default 10.
  --latency-rate <n> Messages per second the latency benchmark sends, all 10 pairs together, from 10
                     to 100,000. Default 1,000. A rate above what a setup commits makes its latency
                     the time messages wait in a growing queue.
  --profile          Add a profiled run to throughput, latency and catch-up (not in the medians) and print
                     the top functions of its measured stretch; add a heap snapshot comparison to memory.
  --server-args=<s>  Extra server flags, space-separated, after the defaults (--rate-limit 0), for
                     experiments: --server-args="--sqlite-synchronous normal" (the = is required
                     because the value starts with a dash). Default: none.
  --help             Print this text.

Exit status: 0 when every benchmark ran and every delivery check passed (targets
may be missed), 1 when a benchmark failed or a check found a lost, repeated or
reordered message, 2 on invalid options.`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        only: { type: "string" },
        runs: { type: "string" },
        seconds: { type: "string", default: "10" },
        "latency-rate": { type: "string", default: "1000" },
        profile: { type: "boolean", default: false },
        "server-args": { type: "string", default: "" },
        deployments: { type: "string", default: DEPLOYMENTS.join(",") },
        "database-url": { type: "string", default: DEFAULT_DATABASE_URL },
        "redis-url": { type: "string", default: DEFAULT_REDIS_URL },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }

  const names = (values.only ?? Object.keys(BENCHMARKS).join(",")).split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(", ")}; choose from ${Object.keys(BENCHMARKS).join(", ")}`);
    return 2;
  }
  const deployments = values.deployments.split(",").map((name) => name.trim());
  const unknownDeployments = deployments.filter((name) => !(DEPLOYMENTS as readonly string[]).includes(name));
  if (unknownDeployments.length > 0 || deployments.length === 0) {
    console.error(`unknown setup ${unknownDeployments.join(", ")} in --deployments; choose from ${DEPLOYMENTS.join(", ")}`);
    return 2;
  }
  for (const [flag, url] of [["--database-url", values["database-url"]], ["--redis-url", values["redis-url"]]] as const) {
    if (!URL.canParse(url)) {
      console.error(`${flag} is not a URL; use the form ${flag === "--redis-url" ? DEFAULT_REDIS_URL : DEFAULT_DATABASE_URL}`);
      return 2;
    }
  }
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  const seconds = Number(values.seconds);
  if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1 && runs <= 50)) {
    console.error(`--runs ${values.runs} is invalid; use a whole number from 1 to 50`);
    return 2;
  }
  const latencyRate = Number(values["latency-rate"]);
  if (!(Number.isInteger(latencyRate) && latencyRate >= 10 && latencyRate <= 100_000)) {
    console.error(`--latency-rate ${values["latency-rate"]} is invalid; use a whole number of messages/s from 10 to 100000`);
    return 2;
  }
  if (!(Number.isInteger(seconds) && seconds >= 1 && seconds <= 600)) {
    console.error(`--seconds ${values.seconds} is invalid; use a whole number of seconds from 1 to 600`);
    return 2;
  }

  const settings: BenchSettings = {
    runs,
    measureSeconds: seconds,
    latencyRate,
    profile: values.profile,
    serverArgs: values["server-args"].split(" ").filter((arg) => arg !== ""),
    deployments: deployments as DeploymentName[],
    databaseUrl: values["database-url"],
    redisUrl: values["redis-url"],
    log: (text) => console.log(text),
  };
  const machine = describeMachine();
  console.log(`command: node bench/dist/src/run.js ${process.argv.slice(2).join(" ")}`.trimEnd());
  console.log(`date: ${new Date().toISOString()}`);
  console.log(`server flags: ${[...BENCH_SERVER_ARGS, ...settings.serverArgs].join(" ")} (and the defaults of every other flag)`);
  if (settings.deployments.some((name) => name !== "sqlite")) {
    console.log(
      `PostgreSQL setups add --database-url (PostgreSQL at ${describeUrl(settings.databaseUrl)}, ` +
        `application_name=<schema>), --database-schema <schema>, --redis-url (Redis at ${describeUrl(settings.redisUrl)}) ` +
        `and --redis-channel-prefix <schema>:, with a new schema chatwire_test_<random> per run`,
    );
  }
  console.log(
    `machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB memory, ` +
      `Node ${machine.node}, ${machine.kernel}`,
  );

  const reports: BenchReport[] = [];
  for (const name of names as BenchName[]) {
    const started = performance.now();
    try {
      reports.push(await BENCHMARKS[name](settings));
    } catch (error) {
      reports.push({
        rows: [{ benchmark: name, figure: "did not complete", value: "-" }],
        notes: [],
        failures: [`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`],
      });
    }
    console.log(`${name} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  console.log(`\n${formatTable(reports.flatMap((report) => report.rows))}\n`);
  for (const note of reports.flatMap((report) => report.notes)) console.log(`${note}\n`);
  const failures = reports.flatMap((report) => report.failures);
  for (const failure of failures) console.error(`FAILED ${failure}`);
  return failures.length === 0 ? 0 : 1;
}

// Exiting through process.exit() runs the launcher's exit hook, which kills
// server processes still running; load generators exit when their IPC
// channel closes.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`${signal} received; stopping the benchmarks`);
    process.exit(130);
  });
}

process.exitCode = await main();
