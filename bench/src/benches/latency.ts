import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { LoadProcess } from "../load-process.js";
import type { LatencyLoadResult, PairsConfig } from "../load/pairs-config.js";
import { formatProfileSummary, summarizeCpuProfiles } from "../profile/cpu-profile.js";
import { formatNumber, median } from "../stats.js";
import { withBenchServer } from "./bench-server.js";
import { describeServerWindow, observeServerWindow, type ServerWindow } from "./server-window.js";
import { mintPairs } from "./pairs-identities.js";
import type { BenchReport, BenchSettings } from "./types.js";

const PAIRS = 10;
const MESSAGES_PER_SECOND_PER_PAIR = 100;
const WARMUP_MS = 2_000;
const TEXT_BYTES = 64;
const DEFAULT_RUNS = 3;
export const LATENCY_P99_TARGET_MS = 3;

/**
 * Latency: the throughput setup at a fixed 1,000 messages/s in all (100 per
 * pair), measuring send to arrival on the receiver's stream. Reports the
 * median over runs of each run's p50, p99 and max.
 */
export async function runLatencyBench(settings: BenchSettings): Promise<BenchReport> {
  const runs = settings.runs ?? DEFAULT_RUNS;
  const results: LatencyRun[] = [];
  const failures: string[] = [];
  const profileNotes: string[] = [];

  // With --profile, one extra run goes first with the server under
  // --cpu-prof; it is left out of the medians.
  if (settings.profile) {
    const profileDir = await mkdtemp(join(tmpdir(), "chatwire-bench-latency-profile-"));
    const profiled = await runOnce(settings, ["--cpu-prof", "--cpu-prof-dir", profileDir]);
    profileNotes.push(
      `latency profiled run (not in the medians): p50 ${profiled.p50Ms.toFixed(2)} ms, p99 ${profiled.p99Ms.toFixed(2)} ms; ` +
        `${describeServerWindow(profiled.server)}; profile in ${profileDir}`,
      formatProfileSummary(await summarizeCpuProfiles(profileDir, 20, profiled.window)),
    );
  }

  for (let run = 1; run <= runs; run++) {
    settings.log(`latency run ${run}/${runs}: ${PAIRS * MESSAGES_PER_SECOND_PER_PAIR} messages/s`);
    const result = await runOnce(settings, []);
    results.push(result);
    settings.log(
      `  p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, max ${result.maxMs.toFixed(2)} ms ` +
        `over ${formatNumber(result.samples)} messages; ${describeServerWindow(result.server)}`,
    );
    if (result.sendErrors > 0) {
      failures.push(`latency run ${run}: ${result.sendErrors} SendMessage calls failed, first: ${result.firstSendError}`);
    }
    failures.push(...result.problems.map((problem) => `latency run ${run}: ${problem}`));
  }

  const p50 = median(results.map((result) => result.p50Ms));
  const p99 = median(results.map((result) => result.p99Ms));
  const max = median(results.map((result) => result.maxMs));
  const label = `median of ${runs} run${runs === 1 ? "" : "s"}`;
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
      `latency: ${PAIRS} pairs at ${MESSAGES_PER_SECOND_PER_PAIR} messages/s each on a 1 ms timer wheel, ` +
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

async function runOnce(settings: BenchSettings, nodeArgs: string[]): Promise<LatencyRun> {
  const measureMs = settings.measureSeconds * 1000;
  return withBenchServer(settings, { nodeArgs }, async (server) => {
    const config: PairsConfig = {
      baseUrl: server.url,
      pairs: await mintPairs(server, "lat", PAIRS),
      warmupMs: WARMUP_MS,
      measureMs,
      drainTimeoutMs: 30_000,
      textBytes: TEXT_BYTES,
      load: { kind: "latency", messagesPerSecondPerPair: MESSAGES_PER_SECOND_PER_PAIR },
    };
    const load = LoadProcess.start("pairs", config, settings.log);
    try {
      const window = await observeServerWindow(server, load, measureMs, WARMUP_MS + 60_000);
      const result = (await load.receive("result", measureMs + 90_000)) as LatencyLoadResult;
      return { ...result, server: window };
    } finally {
      await load.stop();
    }
  });
}
