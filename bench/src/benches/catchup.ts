import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { LoadProcess } from "../load-process.js";
import type { CatchupConfig, CatchupResult } from "../load/catchup.js";
import type { SeedConfig, SeedResult } from "../load/seed.js";
import { formatProfileSummary, summarizeCpuProfiles } from "../profile/cpu-profile.js";
import type { ServerProcess } from "../server-launcher.js";
import { formatNumber, median } from "../stats.js";
import { withBenchServer } from "./bench-server.js";
import type { BenchReport, BenchSettings } from "./types.js";

const CONVERSATIONS = 20;
const MESSAGES_PER_CONVERSATION = 500;
const RECEIVER_ID = "catchup-receiver";
const DEFAULT_RUNS = 5;
export const CATCHUP_TARGET_SECONDS = 0.5;

/**
 * Catch-up: 10,000 messages in 20 direct conversations reach a receiver
 * while it is offline. Then a Node SDK client (createChatClient with
 * openSqliteStorage and createNodeTransport) starts with an empty storage
 * file, and the time runs from start() until its stored position (saved
 * with its cursor) is at the end of the seeded log. Every run is a new
 * device with a new file against the same seeded server, in a new process,
 * and checks that every message is stored.
 *
 * With --profile, a separate server under --cpu-prof is seeded the same way
 * and serves one extra run whose client is profiled too. Both summaries
 * count the timed stretch only, and the run is left out of the median.
 */
export async function runCatchupBench(settings: BenchSettings): Promise<BenchReport> {
  const runs = settings.runs ?? DEFAULT_RUNS;
  const failures: string[] = [];
  const notes: string[] = [];

  if (settings.profile) {
    const profileDir = await mkdtemp(join(tmpdir(), "chatwire-bench-catchup-profile-"));
    const serverProfileDir = join(profileDir, "server");
    const clientProfile = join(profileDir, "client.cpuprofile");
    const profiled = await withBenchServer(settings, { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", serverProfileDir] }, async (server) => {
      const seed = await seedReceiver(server, settings);
      return runClient(server, seed, "profiled run", settings, failures, clientProfile);
    });
    notes.push(
      `catch-up profiled run (not in the median): ${formatNumber(profiled.elapsedMs)} ms; profiles in ${profileDir}`,
      formatProfileSummary(await summarizeCpuProfiles(profileDir, 15), "client"),
      formatProfileSummary(await summarizeCpuProfiles(serverProfileDir, 15, profiled.window), "server"),
    );
  }

  const { results, eventCount } = await withBenchServer(settings, {}, async (server) => {
    const seed = await seedReceiver(server, settings);
    const runResults: CatchupResult[] = [];
    for (let run = 1; run <= runs; run++) {
      runResults.push(await runClient(server, seed, `run ${run}/${runs}`, settings, failures));
    }
    return { results: runResults, eventCount: seed.eventCount };
  });

  const seconds = median(results.map((result) => result.elapsedMs)) / 1000;
  notes.unshift(
    `catch-up: ${CONVERSATIONS} direct conversations of ${MESSAGES_PER_CONVERSATION} messages ` +
      `(${formatNumber(eventCount)} events in the receiver's log), Node SDK with default options and a new ` +
      `SQLite file per run; ms per run: ${results.map((result) => formatNumber(result.elapsedMs)).join(", ")}`,
  );
  return {
    rows: [
      {
        benchmark: "catchup",
        figure: `seconds to catch up on ${formatNumber(CONVERSATIONS * MESSAGES_PER_CONVERSATION)} messages (median of ${runs})`,
        value: seconds.toFixed(3),
        target: `<= ${CATCHUP_TARGET_SECONDS}`,
        met: seconds <= CATCHUP_TARGET_SECONDS,
      },
    ],
    notes,
    failures,
  };
}

/** Fills the receiver's log from a seed load process and returns where it ends. */
async function seedReceiver(server: ServerProcess, settings: BenchSettings): Promise<SeedResult> {
  const senders = await Promise.all(
    Array.from({ length: CONVERSATIONS }, async (_, index) => {
      const userId = `catchup-sender-${index}`;
      return { userId, token: await server.token(userId) };
    }),
  );
  settings.log(`catch-up: seeding ${formatNumber(CONVERSATIONS * MESSAGES_PER_CONVERSATION)} messages`);
  const config: SeedConfig = {
    baseUrl: server.url,
    receiver: { userId: RECEIVER_ID, token: await server.token(RECEIVER_ID) },
    senders,
    messagesPerConversation: MESSAGES_PER_CONVERSATION,
    inFlightPerSender: 8,
  };
  const load = LoadProcess.start("seed", config, settings.log);
  try {
    return (await load.receive("result", 10 * 60_000)) as SeedResult;
  } finally {
    await load.stop();
  }
}

/** Runs one catch-up client in a new process and records what its storage check found. */
async function runClient(
  server: ServerProcess,
  seed: SeedResult,
  name: string,
  settings: BenchSettings,
  failures: string[],
  profilePath?: string,
): Promise<CatchupResult> {
  const config: CatchupConfig = {
    baseUrl: server.url,
    userId: RECEIVER_ID,
    token: await server.token(RECEIVER_ID),
    conversationIds: seed.conversationIds,
    messagesPerConversation: MESSAGES_PER_CONVERSATION,
    endPosition: seed.endPosition,
    timeoutMs: 120_000,
    ...(profilePath === undefined ? {} : { profilePath }),
  };
  const load = LoadProcess.start("catchup", config, settings.log);
  try {
    const result = (await load.receive("result", 150_000)) as CatchupResult;
    settings.log(`catch-up ${name}: ${formatNumber(result.elapsedMs)} ms for ${formatNumber(result.messagesApplied)} messages`);
    failures.push(...result.problems.map((problem) => `catch-up ${name}: ${problem}`));
    return result;
  } finally {
    await load.stop();
  }
}
