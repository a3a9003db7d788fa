/** Every server case, in the order a run takes them. */
import type { ServerCase } from "../types.js";
import { authCases } from "./auth.js";
import { bodyCases } from "./bodies.js";
import { cursorCases } from "./cursors.js";
import { endCursorCases } from "./end-cursor.js";
import { fieldCases } from "./fields.js";
import { heartbeatCases } from "./heartbeats.js";
import { historyCases } from "./history.js";
import { idempotencyCases } from "./idempotency.js";
import { limitCases } from "./limits.js";
import { longPollCases } from "./long-poll.js";
import { membershipCases } from "./membership.js";
import { multiNodeCases } from "./multi-node.js";
import { orderingCases } from "./ordering.js";
import { rateLimitCases } from "./rate-limit.js";
import { receiptCases } from "./receipts.js";
import { retentionCases } from "./retention.js";
import { streamCursorCases } from "./stream-cursors.js";
import { streamLimitCases } from "./stream-limit.js";
import { textCases } from "./text.js";
import { transportCases } from "./transports.js";

export const serverCases: readonly ServerCase[] = [
  ...transportCases,
  ...authCases,
  ...idempotencyCases,
  ...orderingCases,
  ...cursorCases,
  ...endCursorCases,
  ...historyCases,
  ...longPollCases,
  ...heartbeatCases,
  ...streamCursorCases,
  ...receiptCases,
  ...membershipCases,
  ...limitCases,
  ...textCases,
  ...fieldCases,
  ...bodyCases,
  ...streamLimitCases,
  ...rateLimitCases,
  ...retentionCases,
  ...multiNodeCases,
];

const ids = new Set<string>();
for (const serverCase of serverCases) {
  if (ids.has(serverCase.id)) throw new Error(`two server cases share the id ${serverCase.id}`);
  ids.add(serverCase.id);
}
