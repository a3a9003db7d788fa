// Load generator for the throughput and latency benchmarks: sender/receiver
// pairs over direct conversations. Runs as a child of bench/dist/src/run.js.
import { serveRunner } from "./channel.js";
import { runLatencyLoad } from "./latency-load.js";
import type { LatencyLoadResult, PairsConfig, ThroughputLoadResult } from "./pairs-config.js";
import { closePairs, openPairs } from "./pairs-setup.js";
import { runThroughputLoad } from "./throughput-load.js";

serveRunner<PairsConfig>(async (config, channel): Promise<ThroughputLoadResult | LatencyLoadResult> => {
  const pairs = await openPairs(config.pairs);
  try {
    if (config.load.kind === "throughput") {
      return await runThroughputLoad(pairs, config, config.load.inFlightPerSender, channel);
    }
    return await runLatencyLoad(pairs, config, config.load.messagesPerSecondPerPair, channel);
  } finally {
    closePairs(pairs);
  }
});
