import { percentile } from "../stats.js";
import { monotonicMicros } from "../profile/cpu-profile.js";
import type { RunnerChannel } from "./channel.js";
import { DeliveryLedger } from "./delivery-ledger.js";
import { readStamp, stampedText } from "./message-text.js";
import type { LatencyLoadResult, PairsConfig } from "./pairs-config.js";
import type { Pair } from "./pairs-setup.js";
import { startReceiver } from "./receiver.js";
import { TimerWheel } from "./timer-wheel.js";
import { uuidv7 } from "./uuidv7.js";
import { waitForDeliveries, type SendErrors } from "./waits.js";

/**
 * Sends at a fixed rate per pair, on a timer wheel, and measures the time from
 * the send (stamped in the text) to its arrival on the receiver's stream.
 * Sender and receiver live in this process, so both read the same monotonic
 * clock. Pairs start staggered across one interval so the sends spread out.
 */
export async function runLatencyLoad(
  pairs: readonly Pair[],
  config: PairsConfig,
  messagesPerSecondPerPair: number,
  channel: RunnerChannel,
): Promise<LatencyLoadResult> {
  const ledgers = pairs.map((pair) => new DeliveryLedger(pair.conversationId));
  const latencies: number[] = [];
  const lateness: number[] = [];
  let measureFrom = Number.POSITIVE_INFINITY;
  let measureTo = Number.POSITIVE_INFINITY;

  const receivers = pairs.map((pair, index) =>
    startReceiver(pair, (message, receivedAt) => {
      ledgers[index]?.recordDelivery(message, receivedAt);
      const sentAt = readStamp(message.text);
      if (sentAt !== undefined && sentAt >= measureFrom && sentAt < measureTo) latencies.push(receivedAt - sentAt);
    }),
  );
  await Promise.all(receivers.map((receiver) => receiver.live));
  channel.progress(`${pairs.length} receivers live; sending ${messagesPerSecondPerPair} messages/s per pair`);

  const intervalMs = 1000 / messagesPerSecondPerPair;
  const startAt = performance.now() + 10;
  measureFrom = startAt + config.warmupMs;
  measureTo = measureFrom + config.measureMs;
  const errors: SendErrors = { count: 0, first: undefined };
  const inFlight = new Set<Promise<void>>();
  const wheel = new TimerWheel();
  let sent = 0;

  const sendAt = (pair: Pair, index: number, sequence: number) => {
    const dueAt = startAt + (index * intervalMs) / pairs.length + sequence * intervalMs;
    if (dueAt >= measureTo) return;
    wheel.schedule(dueAt, (lateMs) => {
      if (dueAt >= measureFrom) lateness.push(lateMs);
      sent++;
      const call = pair.sender.chat
        .sendMessage({
          conversationId: pair.conversationId,
          clientMessageId: uuidv7(),
          text: stampedText(performance.now(), config.textBytes),
          deviceId: pair.senderDeviceId,
        })
        .then(
          (response) => {
            if (response.message !== undefined) ledgers[index]?.recordAck(response.message, performance.now());
          },
          (error: unknown) => {
            errors.count++;
            errors.first ??= String(error);
          },
        )
        .finally(() => inFlight.delete(call));
      inFlight.add(call);
      sendAt(pair, index, sequence + 1);
    });
  };

  pairs.forEach((pair, index) => sendAt(pair, index, 0));
  wheel.start();
  let windowStartUs = monotonicMicros();
  const readyTimer = setTimeout(() => {
    windowStartUs = monotonicMicros();
    channel.ready({});
  }, measureFrom - performance.now());
  const totalMs = measureTo - performance.now();
  await new Promise((resolve) => setTimeout(resolve, totalMs + 5));
  wheel.stop();
  clearTimeout(readyTimer);
  const window = { startUs: windowStartUs, endUs: monotonicMicros() };
  await Promise.all(inFlight);
  channel.progress("sending stopped; waiting for the last deliveries");

  const problems = await waitForDeliveries(ledgers, receivers, config.drainTimeoutMs);
  await Promise.all(receivers.map((receiver) => receiver.stop()));

  const sorted = [...latencies].sort((a, b) => a - b);
  const sortedLateness = [...lateness].sort((a, b) => a - b);
  return {
    kind: "latency",
    samples: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? Number.NaN,
    schedulerLateP99Ms: percentile(sortedLateness, 99),
    schedulerLateMaxMs: sortedLateness.at(-1) ?? Number.NaN,
    sent,
    sendErrors: errors.count,
    firstSendError: errors.first,
    window,
    problems,
  };
}
