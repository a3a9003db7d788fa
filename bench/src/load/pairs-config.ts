import type { ProfileWindow } from "../profile/cpu-profile.js";
import type { PairIdentity } from "./pairs-setup.js";

/** Configuration the runner sends to the pairs load generator. */
export interface PairsConfig {
  /** The pairs, each with the server addresses of its sender and its receiver. */
  pairs: PairIdentity[];
  warmupMs: number;
  measureMs: number;
  /** How long to wait after the last send for every acknowledged message to arrive. */
  drainTimeoutMs: number;
  /** Bytes of UTF-8 text per message, the send-time stamp included. */
  textBytes: number;
  load: { kind: "throughput"; inFlightPerSender: number } | { kind: "latency"; messagesPerSecondPerPair: number };
}

/** Rates measured by the throughput load in its measurement window, and its delivery check. */
export interface ThroughputLoadResult {
  kind: "throughput";
  measureMs: number;
  acknowledgedPerSecond: number;
  deliveredPerSecond: number;
  totalAcknowledged: number;
  totalDelivered: number;
  sendErrors: number;
  firstSendError: string | undefined;
  /** CPU time of the load generator during the measurement window, as % of one core. */
  loadCpuPercent: number;
  /** The measurement window on the monotonic clock, to select a server profile's samples. */
  window: ProfileWindow;
  /** Empty when every acknowledged message was delivered exactly once in seq order. */
  problems: string[];
}

/** Send-to-receive latency of the messages sent in the measurement window. */
export interface LatencyLoadResult {
  kind: "latency";
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** How late the timer wheel fired sends, p99 and max, in ms. */
  schedulerLateP99Ms: number;
  schedulerLateMaxMs: number;
  sent: number;
  sendErrors: number;
  firstSendError: string | undefined;
  /** The measurement window on the monotonic clock, to select a server profile's samples. */
  window: ProfileWindow;
  problems: string[];
}
