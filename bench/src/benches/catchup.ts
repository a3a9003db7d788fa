import type { BenchReport, BenchSettings } from "./types.js";

export const CATCHUP_TARGET_SECONDS = 0.5;

/** Catch-up of an offline receiver through the Node SDK. */
export async function runCatchupBench(_settings: BenchSettings): Promise<BenchReport> {
  // TODO: measure once @chatwire/sdk-core exports createChatClient.
  throw new Error("the catch-up benchmark needs createChatClient from @chatwire/sdk-core, which is not exported yet");
}
