import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { LoadProcess } from "../load-process.js";
import type { LatencyLoadResult, PairsConfig } from "../load/pairs-config.js";
import { formatProfileSummary, summarizeCpuProfiles } from "../profile/cpu-profile.js";
import { formatNumber, median } from "../stats.js";
import { describeDeployment, runPerDeployment, withDeployment, type DeploymentName } from "./deployment.js";
import { describeServerWindow, observeServerWindow, type ServerWindow } from "./server-window.js";
import { mintPairs } from "./pairs-identities.js";
import type { BenchReport, BenchSettings } from "./types.js";

const PAIRS = 10;
const WARMUP_MS = 2_000;
const TEXT_BYTES = 64;
const DEFAULT_RUNS = 3;
export const LATENCY_P99_TARGET_MS = 3;

/**
 * Latency: the throughput setup at a fixed rate (1,000 messages/s in all by
 * default, spread evenly over the pairs), measuring send to arrival on the
 * receiver's stream, on every setup in the settings. Reports the median over runs of each run's p50, p99 and
 * max.
 */
export function runLatencyBench(settings: BenchSettings): Promise<BenchReport> {
  return runPerDeployment(settings, "latency", (name) => runOnDeployment(settings, name));
}

async function runOnDeployment(settings: BenchSettings, name: DeploymentName): Promise<BenchReport> {
  const runs = settings.runs ?? DEFAULT_RUNS;
  const perPair = settings.latencyRate / PAIRS;
  const results: LatencyRun[] = [];
  const failures: string[] = [];
  const profileNotes: string[] = [];
  const setup = describeDeployment(name);

  // With --profile, one extra run on a single-node setup goes first with the
  // server under --cpu-prof; it is left out of the medians.
  if (settings.profile && name !== "postgres-3") {
    const profileDir = await mkdtemp(join(tmpdir(), "chatwire-bench-latency-profile-"));
    const profiled = await runOnce(settings, name, perPair, ["--cpu-prof", "--cpu-prof-dir", profileDir]);
    profileNotes.push(
      `latency on ${setup}, profiled run (not in the medians): p50 ${profiled.p50Ms.toFixed(2)} ms, ` +
        `p99 ${profiled.p99Ms.toFixed(2)} ms; ${describeServerWindow(profiled.server)}; profile in ${profileDir}`,
      formatProfileSummary(await summarizeCpuProfiles(profileDir, 20, profiled.window)),
    );
  }

  for (let run = 1; run <= runs; run++) {
    settings.log(`latency on ${setup}, run ${run}/${runs}: ${formatNumber(settings.latencyRate)} messages/s`);
    const result = await runOnce(settings, name, perPair, []);
    results.push(result);
    settings.log(
      `  p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, max ${result.maxMs.toFixed(2)} ms ` +
        `over ${formatNumber(result.samples)} messages; ${describeServerWindow(result.server)}`,
    );
    if (result.sendErrors > 0) {
      failures.push(`latency on ${setup}, run ${run}: ${result.sendErrors} SendMessage calls failed, first: ${result.firstSendError}`);
    }
    failures.push(...result.problems.map((problem) => `latency on ${setup}, run ${run}: ${problem}`));
  }

  const p50 = median(results.map((result) => result.p50Ms));
  const p99 = median(results.map((result) => result.p99Ms));
  const max = median(results.map((result) => result.maxMs));
  const label = `${setup}, ${formatNumber(settings.latencyRate)} msg/s, median of ${runs} run${runs === 1 ? "" : "s"}`;
  const perRun = results
    .map((result) => `${result.p50Ms.toFixed(2)}/${result.p99Ms.toFixed(2)}/${result.maxMs.toFixed(2)}`)
    .join(", ");
  const lateness = results.map((result) => result.schedulerLateP99Ms.toFixed(2)).join(", ");

  return {
    rows: [
      { benchmark: "latency", figure: `p50 send to receive, ms (${label})`, value: p50.toFixed(2) },
      {
        benchmark: "latency",
        figure: `p99 send to receive, ms (${label})`,
        value: p99.toFixed(2),
        target: `<= ${LATENCY_P99_TARGET_MS}`,
        met: p99 <= LATENCY_P99_TARGET_MS,
      },
      { benchmark: "latency", figure: `max send to receive, ms (${label})`, value: max.toFixed(2) },
    ],
    notes: [
      `latency on ${setup}: ${PAIRS} pairs at ${formatNumber(perPair, 1)} messages/s each on a 1 ms timer wheel, ` +
        `${TEXT_BYTES}-byte texts, ${WARMUP_MS / 1000} s warm-up then ${settings.measureSeconds} s measured; ` +
        `p50/p99/max ms per run: ${perRun}; samples per run: ${results.map((result) => result.samples).join(", ")}; ` +
        `p99 lateness of the send timer per run, ms: ${lateness} (not part of the latency, which starts at the send); ` +
        `per run: ${results.map((result) => describeServerWindow(result.server)).join("; ")}`,
      ...profileNotes,
    ],
    failures,
  };
}

type LatencyRun = LatencyLoadResult & { server: ServerWindow };

async function runOnce(
  settings: BenchSettings,
  name: DeploymentName,
  messagesPerSecondPerPair: number,
  nodeArgs: string[],
): Promise<LatencyRun> {
  const measureMs = settings.measureSeconds * 1000;
  return withDeployment(name, settings, { nodeArgs }, async (deployment) => {
    const config: PairsConfig = {
      pairs: await mintPairs(deployment, "lat", PAIRS),
      warmupMs: WARMUP_MS,
      measureMs,
      drainTimeoutMs: 30_000,
      textBytes: TEXT_BYTES,
      load: { kind: "latency", messagesPerSecondPerPair },
    };
    const load = LoadProcess.start("pairs", config, settings.log);
    try {
      const window = await observeServerWindow(deployment, load, measureMs, WARMUP_MS + 60_000);
      const result = (await load.receive("result", measureMs + 90_000)) as LatencyLoadResult;
      return { ...result, server: window };
    } finally {
      await load.stop();
    }
  });
}
