import { monotonicMicros } from "../profile/cpu-profile.js";
import type { RunnerChannel } from "./channel.js";
import { DeliveryLedger } from "./delivery-ledger.js";
import { stampedText } from "./message-text.js";
import type { PairsConfig, ThroughputLoadResult } from "./pairs-config.js";
import type { Pair } from "./pairs-setup.js";
import { startReceiver } from "./receiver.js";
import { uuidv7 } from "./uuidv7.js";
import { waitForDeliveries, type SendErrors } from "./waits.js";

/**
 * Sends as fast as the window allows: each sender keeps `inFlightPerSender`
 * SendMessage calls open, starting the next one as soon as one returns, for
 * the warm-up and the measurement window. Then it waits until every
 * acknowledged message has arrived and checks exactly-once, in-order
 * delivery per conversation.
 */
export async function runThroughputLoad(
  pairs: readonly Pair[],
  config: PairsConfig,
  inFlightPerSender: number,
  channel: RunnerChannel,
): Promise<ThroughputLoadResult> {
  const ledgers = pairs.map((pair) => new DeliveryLedger(pair.conversationId));
  const receivers = pairs.map((pair, index) =>
    startReceiver(pair, (message, at) => ledgers[index]?.recordDelivery(message, at)),
  );
  await Promise.all(receivers.map((receiver) => receiver.live));
  channel.progress(`${pairs.length} receivers live; sending with ${inFlightPerSender} calls in flight per sender`);

  const startedAt = performance.now();
  const measureFrom = startedAt + config.warmupMs;
  const measureTo = measureFrom + config.measureMs;
  const errors: SendErrors = { count: 0, first: undefined };
  let cpuAtMeasureStart = { usage: process.cpuUsage(), at: startedAt, monotonicUs: monotonicMicros() };
  const cpuTimer = setTimeout(() => {
    cpuAtMeasureStart = { usage: process.cpuUsage(), at: performance.now(), monotonicUs: monotonicMicros() };
    channel.ready({});
  }, config.warmupMs);

  const senders = pairs.flatMap((pair, index) =>
    Array.from({ length: inFlightPerSender }, async () => {
      while (performance.now() < measureTo && errors.count < 100) {
        try {
          const response = await pair.sender.chat.sendMessage({
            conversationId: pair.conversationId,
            clientMessageId: uuidv7(),
            text: stampedText(performance.now(), config.textBytes),
            deviceId: pair.senderDeviceId,
          });
          if (response.message !== undefined) ledgers[index]?.recordAck(response.message, performance.now());
        } catch (error) {
          errors.count++;
          errors.first ??= String(error);
        }
      }
    }),
  );
  await Promise.all(senders);
  clearTimeout(cpuTimer);
  const cpuInWindow = process.cpuUsage(cpuAtMeasureStart.usage);
  const cpuWindowMs = performance.now() - cpuAtMeasureStart.at;
  const window = { startUs: cpuAtMeasureStart.monotonicUs, endUs: monotonicMicros() };
  channel.progress("sending stopped; waiting for the last deliveries");

  const problems = await waitForDeliveries(ledgers, receivers, config.drainTimeoutMs);
  await Promise.all(receivers.map((receiver) => receiver.stop()));

  const seconds = config.measureMs / 1000;
  const sum = (count: (ledger: DeliveryLedger) => number) => ledgers.reduce((total, ledger) => total + count(ledger), 0);
  return {
    kind: "throughput",
    measureMs: config.measureMs,
    acknowledgedPerSecond: sum((ledger) => ledger.acksBetween(measureFrom, measureTo)) / seconds,
    deliveredPerSecond: sum((ledger) => ledger.deliveriesBetween(measureFrom, measureTo)) / seconds,
    totalAcknowledged: sum((ledger) => ledger.ackCount),
    totalDelivered: sum((ledger) => ledger.deliveryCount),
    sendErrors: errors.count,
    firstSendError: errors.first,
    loadCpuPercent: (100 * (cpuInWindow.user + cpuInWindow.system)) / 1000 / cpuWindowMs,
    window,
    problems,
  };
}
