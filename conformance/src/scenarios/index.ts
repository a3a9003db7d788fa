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
import { serverCrashBetweenPages } from "./s23-server-crash-between-pages.js";
import { readMarkRace } from "./s24-read-mark-race.js";
import { serverCrashMidSend } from "./s25-server-crash-mid-send.js";
import { longPollFallback } from "./s26-long-poll-fallback.js";
import { backgroundWake } from "./s27-background-wake.js";
import { networkFlapping } from "./s28-network-flapping.js";
import { removedMember } from "./s29-removed-member.js";
import { duplicateDelivery } from "./s30-duplicate-delivery.js";
import { restartKeepsStatuses } from "./s31-restart-keeps-statuses.js";
import { twoDevicesOneOrder } from "./s32-two-devices-one-order.js";
import { serverGracefulRestart } from "./s33-server-graceful-restart.js";
import { readMarkSurvivesRestart } from "./s34-read-mark-survives-restart.js";
import { freshDeviceAfterPruning } from "./s35-fresh-device-after-pruning.js";
import { retryWithoutEcho } from "./s36-retry-without-echo.js";
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
  connectionAge30s,
  streamGap,
  clockSkew,
  serverCrashBetweenPages,
  readMarkRace,
  serverCrashMidSend,
  longPollFallback,
  backgroundWake,
  networkFlapping,
  removedMember,
  duplicateDelivery,
  restartKeepsStatuses,
  twoDevicesOneOrder,
  serverGracefulRestart,
  readMarkSurvivesRestart,
  freshDeviceAfterPruning,
  retryWithoutEcho,
];

export { runScenario, runScenarioOn, type RunScenarioOptions, type ScenarioServer } from "./harness.js";
export { loadTranscript, textOfBytes, transcriptPath, type TranscriptLine } from "./fixtures.js";
export { protocolUser, uuidv7, type ProtocolUser } from "./protocol.js";
export type { Limits, Scenario, ScenarioContext, ServerControl } from "./types.js";
