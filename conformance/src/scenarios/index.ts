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
import { queuedFlush } from "./s14-queued-flush.js";
import { pageBoundary } from "./s15-page-boundary.js";
import { fiftyConversations } from "./s16-fifty-conversations.js";
import { cursorExpired } from "./s17-cursor-expired.js";
import { tokenServiceOutage } from "./s18-token-service-outage.js";
import { silentStreamLiveConnection } from "./s19-silent-stream-live-connection.js";
import { connectionAge, connectionAge30s } from "./s20-connection-age.js";
import { streamGap } from "./s21-stream-gap.js";
import { clockSkew } from "./s22-clock-skew.js";
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
  queuedFlush,
  pageBoundary,
  fiftyConversations,
  cursorExpired,
  tokenServiceOutage,
  silentStreamLiveConnection,
  connectionAge,
  streamGap,
  clockSkew,
];

/** Scenarios too slow for every run, such as S20 with a realistic 30 s connection lifetime. */
export const longScenarios: readonly Scenario[] = [connectionAge30s];

export { runScenario, runScenarioOn, type RunScenarioOptions, type ScenarioServer } from "./harness.js";
export { loadTranscript, textOfBytes, transcriptPath, type TranscriptLine } from "./fixtures.js";
export { protocolUser, uuidv7, type ProtocolUser } from "./protocol.js";
export type { Limits, Scenario, ScenarioContext, ServerControl } from "./types.js";
