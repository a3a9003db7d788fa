import { setTimeout as sleep } from "node:timers/promises";

import type { DeliveryLedger } from "./delivery-ledger.js";
import type { Receiver } from "./receiver.js";

/** Failed SendMessage calls: how many, and the first error's text. */
export interface SendErrors {
  count: number;
  first: string | undefined;
}

/**
 * Waits until every ledger has as many deliveries as acknowledgements, a
 * stream fails, or `timeoutMs` passes, then returns every problem found.
 */
export async function waitForDeliveries(
  ledgers: readonly DeliveryLedger[],
  receivers: readonly Receiver[],
  timeoutMs: number,
): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  const caughtUp = () => ledgers.every((ledger) => ledger.deliveryCount >= ledger.ackCount);
  const failed = () => receivers.some((receiver) => receiver.failure() !== undefined);
  while (!caughtUp() && !failed() && performance.now() < deadline) await sleep(20);

  const problems = receivers.flatMap((receiver, index) =>
    receiver.failure() === undefined ? [] : [`receiver ${index}: stream failed: ${String(receiver.failure())}`],
  );
  if (!caughtUp()) {
    const missing = ledgers.reduce((total, ledger) => total + Math.max(0, ledger.ackCount - ledger.deliveryCount), 0);
    problems.push(`${missing} acknowledged messages had not arrived ${timeoutMs} ms after the last send`);
  }
  return [...problems, ...ledgers.flatMap((ledger) => ledger.problems())];
}
