/** Every end-to-end scenario, in the order a report lists them. */
import { killAfterSend } from "./s1-kill-after-send.js";
import { lostResponse } from "./s2-lost-response.js";
import { offlineCatchUp } from "./s3-offline-catch-up.js";
import { silentStream } from "./s4-silent-stream.js";
import { readReceipts } from "./s5-read-receipts.js";
import { tokenExpiry } from "./s6-token-expiry.js";
import { nonMember } from "./s7-non-member.js";
import { textFidelity } from "./s8-text-fidelity.js";
import { killBetweenPages } from "./s9-kill-between-pages.js";
import { parkedMessage } from "./s10-parked-message.js";
import { lostAcknowledge } from "./s11-lost-acknowledge.js";
import { slowSendManualRetry } from "./s12-slow-send-manual-retry.js";
import { echoBeforeResponse } from "./s13-echo-before-response.js";
import type { Scenario } from "./types.js";

export const scenarios: readonly Scenario[] = [
  killAfterSend,
  lostResponse,
  offlineCatchUp,
  silentStream,
  readReceipts,
  tokenExpiry,
  nonMember,
  textFidelity,
  killBetweenPages,
  parkedMessage,
  lostAcknowledge,
  slowSendManualRetry,
  echoBeforeResponse,
];

export { runScenario, runScenarioOn, type RunScenarioOptions, type ScenarioServer } from "./harness.js";
export { loadTranscript, textOfBytes, transcriptPath, type TranscriptLine } from "./fixtures.js";
export { protocolUser, uuidv7, type ProtocolUser } from "./protocol.js";
export type { Limits, Scenario, ScenarioContext, ServerControl } from "./types.js";
