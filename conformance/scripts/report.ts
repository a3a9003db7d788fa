/**
 * Runs every conformance suite against the implementations in this
 * repository and writes docs/conformance-report.md:
 *
 * 1. the storage contract (test/storage.test.ts under vitest, read from its
 *    JSON output) on the Node SQLite and memory adapters;
 * 2. the client scenarios on the Node runtime, each against its own
 *    reference server process;
 * 3. the server suite against a reference server process over Connect,
 *    gRPC and gRPC-Web, and its retention case against a second server
 *    process that keeps events for one second;
 * 4. the server suite against three reference server processes on one
 *    PostgreSQL schema and one Redis behind a round-robin TCP balancer,
 *    when PostgreSQL (CHATWIRE_TEST_DATABASE_URL, default
 *    postgres://postgres@127.0.0.1:5432/test) and Redis
 *    (CHATWIRE_TEST_REDIS_URL, default redis://127.0.0.1:6379) are reachable.
 *    Otherwise the single node's claim declares the multi-node gap with
 *    the reason.
 *
 * Build first; from the repository root:
 *
 *   npm run build && node --import tsx conformance/scripts/report.ts [--output FILE]
 *
 * Progress goes to stderr. The exit status is 1 when any case failed (the
 * report is written anyway) and 0 otherwise.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { checkPostgres, checkRedis, startCluster } from "../src/cluster/index.js";
import { startLoadBalancer } from "../src/net/index.js";
import { toMarkdown } from "../src/report/markdown.js";
import { createProgressReporter, describeResult } from "../src/report/progress.js";
import { countResults, describeCounts, runLabel } from "../src/report/summary.js";
import type { SuiteRun } from "../src/report/types.js";
import { createNodeRuntime } from "../src/runtimes/node.js";
import { startServerProcess } from "../src/server-process.js";
import { runServerSuite, serverCases, WIRE_PROTOCOLS } from "../src/server-suite/index.js";
import { runClientSuite } from "../src/suites/client-suite.js";
import { QUICK_SERVER_ARGS } from "../src/suites/quick-limits.js";
import type { Claim } from "../src/tags.js";
import { storageRunsFromVitest, type VitestJsonReport } from "./storage-results.js";

const CONFORMANCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO_ROOT = resolve(CONFORMANCE_DIR, "..");
const DEFAULT_OUTPUT = join(REPO_ROOT, "docs", "conformance-report.md");

/** The claim of each storage adapter, by its name in test/storage.test.ts. */
const STORAGE_CLAIMS: Claim[] = [
  { name: "node sqlite", profiles: ["core", "offline"], gaps: [] },
  {
    name: "memory",
    profiles: ["core"],
    gaps: [{ profile: "offline", reason: "memory storage keeps nothing across instances" }],
  },
];

const PUSH_GAP = { profile: "push", reason: "the reference server sends no push notifications" } as const;

/** Builds the single SQLite node's claim; `multiNodeGap` names the run that covers multi-node, or why none does. */
function singleNodeClaim(multiNodeGap: string): Claim {
  return {
    name: "reference server",
    profiles: ["core", "offline", "multi-device"],
    gaps: [PUSH_GAP, { profile: "multi-node", reason: multiNodeGap }],
  };
}

const CLUSTER_NODES = 3;
const CLUSTER_CLAIM: Claim = {
  name: `reference server, ${CLUSTER_NODES} nodes on PostgreSQL and Redis`,
  profiles: ["core", "offline", "multi-device", "multi-node"],
  gaps: [PUSH_GAP],
};
const DATABASE_URL = process.env.CHATWIRE_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.CHATWIRE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

const RETENTION_SECONDS = 1;
const PRUNE_INTERVAL_MS = 100;
/** Retention, one prune interval and room for a busy machine, in ms. */
const SHORT_RETENTION_MS = RETENTION_SECONDS * 1000 + PRUNE_INTERVAL_MS + 400;

function progress(prefix: string) {
  return createProgressReporter(process.stderr, prefix);
}

async function runStorageSuite(): Promise<SuiteRun[]> {
  const scratch = await mkdtemp(join(tmpdir(), "chatwire-report-"));
  const jsonFile = join(scratch, "storage.json");
  try {
    const vitest = join(REPO_ROOT, "node_modules", "vitest", "vitest.mjs");
    const args = [vitest, "run", "--project", "conformance", "test/storage.test.ts", "--reporter=json", `--outputFile=${jsonFile}`];
    process.stderr.write("storage: running test/storage.test.ts under vitest\n");
    const code = await new Promise<number | null>((resolveExit, reject) => {
      const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "inherit"] });
      child.once("error", reject);
      child.once("close", resolveExit);
    });
    let report: VitestJsonReport;
    try {
      report = JSON.parse(await readFile(jsonFile, "utf8")) as VitestJsonReport;
    } catch (error) {
      throw new Error(`vitest exited with code ${code} and wrote no JSON report to ${jsonFile}: ${(error as Error).message}`);
    }
    return storageRunsFromVitest(report, STORAGE_CLAIMS);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function runClientScenarios(): Promise<SuiteRun> {
  const reporter = progress("client node");
  const runtime = await createNodeRuntime({ onHostLog: (line) => reporter.print(line) });
  try {
    return await runClientSuite({
      runtime,
      onCaseStart: (scenario) => reporter.caseStarted(`${scenario.id} ${scenario.title}`),
      onResult: (result, done, total) => reporter.caseFinished(result, done, total),
    });
  } finally {
    reporter.finish();
    await runtime.close();
  }
}

async function runServerCases(claim: Claim): Promise<SuiteRun> {
  const server = await startServerProcess({ args: [...QUICK_SERVER_ARGS] });
  const reporter = progress("server reference");
  try {
    return await runServerSuite(
      {
        baseUrl: server.url,
        tokens: { jwtSecret: server.jwtSecret },
        protocols: WIRE_PROTOCOLS,
        claim,
        filter: (serverCase) => !serverCase.id.startsWith("server.retention."),
      },
      (result, done, total) => reporter.caseFinished(result, done, total),
    );
  } finally {
    reporter.finish();
    await server.stop();
  }
}

/** Runs the retention cases against a server process that keeps events for RETENTION_SECONDS. */
async function runRetentionCases(claim: Claim): Promise<SuiteRun> {
  const server = await startServerProcess({
    args: ["--retention-seconds", String(RETENTION_SECONDS), "--prune-interval-ms", String(PRUNE_INTERVAL_MS), "--heartbeat-ms", "1000"],
  });
  const reporter = progress("server retention");
  try {
    return await runServerSuite(
      {
        baseUrl: server.url,
        tokens: { jwtSecret: server.jwtSecret },
        protocols: WIRE_PROTOCOLS,
        claim: { ...claim, name: `reference server, ${RETENTION_SECONDS} s retention` },
        filter: (serverCase) => serverCase.id.startsWith("server.retention."),
        shortRetentionMs: SHORT_RETENTION_MS,
      },
      (result, done, total) => reporter.caseFinished(result, done, total),
    );
  } finally {
    reporter.finish();
    await server.stop();
  }
}

/** Returns undefined when PostgreSQL runs a query and Redis replies to PING, or why the cluster run cannot start. */
async function clusterServicesMissing(): Promise<string | undefined> {
  const postgres = await checkPostgres(DATABASE_URL);
  if (postgres !== undefined) return `PostgreSQL at ${new URL(DATABASE_URL).host} is not reachable (${postgres})`;
  const redis = await checkRedis(REDIS_URL);
  if (redis !== undefined) return `Redis at ${new URL(REDIS_URL).host} is not reachable (${redis})`;
  return undefined;
}

/**
 * Runs the server cases, except retention, against CLUSTER_NODES processes
 * on a new PostgreSQL schema behind a round-robin balancer. The cluster
 * drops its schema when it stops.
 */
async function runClusterCases(): Promise<SuiteRun> {
  const cluster = await startCluster({ nodes: CLUSTER_NODES, databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, args: [...QUICK_SERVER_ARGS] });
  const reporter = progress(`server ${CLUSTER_NODES} nodes`);
  try {
    const balancer = await startLoadBalancer({ backends: cluster.nodes.map((node) => ({ host: "127.0.0.1", port: node.port })) });
    try {
      return await runServerSuite(
        {
          baseUrl: balancer.url,
          // Every node verifies tokens with the same secret.
          tokens: { jwtSecret: cluster.nodes[0]!.jwtSecret },
          protocols: WIRE_PROTOCOLS,
          claim: CLUSTER_CLAIM,
          filter: (serverCase) => !serverCase.id.startsWith("server.retention."),
        },
        (result, done, total) => reporter.caseFinished(result, done, total),
      );
    } finally {
      await balancer.close();
    }
  } finally {
    reporter.finish();
    await cluster.stop();
  }
}

function preamble(runs: readonly SuiteRun[], startedAt: Date): string {
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
  const minutes = ((Date.now() - startedAt.getTime()) / 60_000).toFixed(1);
  const serverCaseCount = serverCases.length;
  return [
    "<!-- Generated by conformance/scripts/report.ts; do not edit by hand. -->",
    "",
    "Generated from the repository by `npm run conformance:report` (which builds, then runs",
    "`node --import tsx conformance/scripts/report.ts`); rerun it to refresh this page.",
    `This run: commit ${commit}, ${startedAt.toISOString()}, Node ${process.version}, ${minutes} minutes.`,
    "",
    `The runs below cover the storage contract on each storage adapter, the client scenarios on the`,
    `Node runtime and the ${serverCaseCount} server cases against the reference server over`,
    `${WIRE_PROTOCOLS.join(", ")}: one node on SQLite and, where PostgreSQL and Redis were reachable,`,
    `${CLUSTER_NODES} nodes on PostgreSQL and Redis behind a round-robin TCP balancer.`,
    `\`docs/conformance.md\` explains the suites, profiles and guarantee tags.`,
    `Cases: ${runs.reduce((sum, run) => sum + run.results.length, 0)}.`,
  ].join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { output: { type: "string" } }, strict: true, allowPositionals: false });
  const output = resolve(values.output ?? DEFAULT_OUTPUT);
  const startedAt = new Date();

  const runs: SuiteRun[] = [];
  runs.push(...(await runStorageSuite()));
  runs.push(await runClientScenarios());
  const missing = await clusterServicesMissing();
  if (missing !== undefined) process.stderr.write(`server ${CLUSTER_NODES} nodes: not run, because ${missing}\n`);
  const singleClaim = singleNodeClaim(
    missing === undefined
      ? `this run starts one SQLite node; the ${CLUSTER_NODES}-node run covers multi-node`
      : `the ${CLUSTER_NODES}-node run did not start, because ${missing}`,
  );
  runs.push(await runServerCases(singleClaim));
  runs.push(await runRetentionCases(singleClaim));
  if (missing === undefined) runs.push(await runClusterCases());

  const markdown = toMarkdown(runs, { title: "chatwire conformance report", preamble: preamble(runs, startedAt) });
  await writeFile(output, markdown, "utf8");
  for (const run of runs) {
    process.stdout.write(`${runLabel(run)}: ${describeCounts(countResults(run.results))}\n`);
    for (const result of run.results.filter((candidate) => candidate.status === "fail")) {
      process.stdout.write(`  ${describeResult(run.claim.name, result)}\n`);
    }
  }
  process.stdout.write(`Report written to ${relative(process.cwd(), output) || output}\n`);
  return runs.some((run) => run.results.some((result) => result.status === "fail")) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`conformance report: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
