import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { LoadProcess } from "../load-process.js";
import type { PairsConfig, ThroughputLoadResult } from "../load/pairs-config.js";
import { formatProfileSummary, summarizeCpuProfiles } from "../profile/cpu-profile.js";
import { formatNumber, median } from "../stats.js";
import { describeDeployment, runPerDeployment, withDeployment, type DeploymentName } from "./deployment.js";
import { describeServerWindow, observeServerWindow, type ServerWindow } from "./server-window.js";
import { mintPairs } from "./pairs-identities.js";
import type { BenchReport, BenchSettings } from "./types.js";

const PAIRS = 10;
/**
 * SendMessage calls each sender keeps open. One call at a time would measure
 * round trips, not the server; 32 per sender (320 in all) keeps the server's
 * write queue busy while bounding the load generator's memory.
 */
const IN_FLIGHT_PER_SENDER = 32;
const WARMUP_MS = 2_000;
const TEXT_BYTES = 64;
const DEFAULT_RUNS = 3;
export const THROUGHPUT_TARGET = 20_000;

/**
 * Throughput: 10 sender/receiver pairs in direct conversations, receivers on
 * Subscribe streams, senders as fast as their window allows, on every setup
 * in the settings. On several nodes each pair's sender and receiver use
 * different nodes. Every run uses a fresh setup and checks that each
 * acknowledged message arrived exactly once, in seq order. With --profile,
 * one extra run on each single-node setup goes first with the server under
 * --cpu-prof; it is left out of the median because the profiler slows the
 * server down, and its summary counts the measurement window only.
 */
export function runThroughputBench(settings: BenchSettings): Promise<BenchReport> {
  return runPerDeployment(settings, "throughput", (name) => runOnDeployment(settings, name));
}

async function runOnDeployment(settings: BenchSettings, name: DeploymentName): Promise<BenchReport> {
  const runs = settings.runs ?? DEFAULT_RUNS;
  const failures: string[] = [];
  const notes: string[] = [];
  const setup = describeDeployment(name);

  const runChecked = async (label: string, nodeArgs: string[]) => {
    settings.log(`throughput on ${setup}, ${label}: ${PAIRS} pairs, ${IN_FLIGHT_PER_SENDER} in flight per sender`);
    const result = await runOnce(settings, name, nodeArgs);
    settings.log(
      `  acknowledged ${formatNumber(result.acknowledgedPerSecond)}/s, delivered ${formatNumber(result.deliveredPerSecond)}/s; ` +
        `${describeServerWindow(result.server)}; load generator CPU ${result.loadCpuPercent.toFixed(0)}% of one core`,
    );
    if (result.sendErrors > 0) {
      failures.push(`throughput on ${setup}, ${label}: ${result.sendErrors} SendMessage calls failed, first: ${result.firstSendError}`);
    }
    failures.push(...result.problems.map((problem) => `throughput on ${setup}, ${label}: ${problem}`));
    return result;
  };

  if (settings.profile && name !== "postgres-3") {
    const profileDir = await mkdtemp(join(tmpdir(), "chatwire-bench-profile-"));
    const profiled = await runChecked("profiled run", ["--cpu-prof", "--cpu-prof-dir", profileDir]);
    notes.push(
      `throughput on ${setup}, profiled run (not in the median): delivered ${formatNumber(profiled.deliveredPerSecond)}/s; ` +
        `profile in ${profileDir}`,
    );
    notes.push(formatProfileSummary(await summarizeCpuProfiles(profileDir, 20, profiled.window)));
  }

  const results: ThroughputRun[] = [];
  for (let run = 1; run <= runs; run++) results.push(await runChecked(`run ${run}/${runs}`, []));

  const delivered = median(results.map((result) => result.deliveredPerSecond));
  const acknowledged = median(results.map((result) => result.acknowledgedPerSecond));
  const label = `${setup}, median of ${runs} run${runs === 1 ? "" : "s"}`;
  const checked = results.reduce((total, result) => total + result.totalDelivered, 0);
  notes.push(
    `throughput on ${setup}: ${PAIRS} pairs, ${IN_FLIGHT_PER_SENDER} SendMessage calls in flight per sender, ` +
      `${TEXT_BYTES}-byte texts, ${WARMUP_MS / 1000} s warm-up then ${settings.measureSeconds} s measured; ` +
      `delivered/s per run: ${results.map((result) => formatNumber(result.deliveredPerSecond)).join(", ")}; ` +
      `${formatNumber(checked)} deliveries checked for exactly-once, in-order delivery; per run: ` +
      results
        .map((result) => `${describeServerWindow(result.server)}, load generator CPU ${result.loadCpuPercent.toFixed(0)}%`)
        .join("; "),
  );

  return {
    rows: [
      {
        benchmark: "throughput",
        figure: `delivered messages/s (${label})`,
        value: formatNumber(delivered),
        target: `>= ${formatNumber(THROUGHPUT_TARGET)}`,
        met: delivered >= THROUGHPUT_TARGET,
      },
      { benchmark: "throughput", figure: `acknowledged messages/s (${label})`, value: formatNumber(acknowledged) },
    ],
    notes,
    failures,
  };
}

type ThroughputRun = ThroughputLoadResult & { server: ServerWindow };

async function runOnce(settings: BenchSettings, name: DeploymentName, nodeArgs: string[]): Promise<ThroughputRun> {
  const measureMs = settings.measureSeconds * 1000;
  return withDeployment(name, settings, { nodeArgs }, async (deployment) => {
    const config: PairsConfig = {
      pairs: await mintPairs(deployment, "tp", PAIRS),
      warmupMs: WARMUP_MS,
      measureMs,
      drainTimeoutMs: 30_000,
      textBytes: TEXT_BYTES,
      load: { kind: "throughput", inFlightPerSender: IN_FLIGHT_PER_SENDER },
    };
    const load = LoadProcess.start("pairs", config, settings.log);
    try {
      const window = await observeServerWindow(deployment, load, measureMs, WARMUP_MS + 60_000);
      const result = (await load.receive("result", measureMs + 90_000)) as ThroughputLoadResult;
      return { ...result, server: window };
    } finally {
      await load.stop();
    }
  });
}
