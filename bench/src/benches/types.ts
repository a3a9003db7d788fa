import type { DeploymentName } from "./deployment.js";

/** One line of the results table. */
export interface ResultRow {
  benchmark: string;
  figure: string;
  value: string;
  /** The target as printed, when the figure has one. */
  target?: string;
  met?: boolean;
}

/** The outcome of one benchmark: table rows, notes and failures. */
export interface BenchReport {
  rows: ResultRow[];
  /** Details printed under the table: runs, settings, what was done about limits. */
  notes: string[];
  /** Broken guarantees or failed runs; any entry makes the run exit with status 1. */
  failures: string[];
}

/** Settings shared by every benchmark, from the command line. */
export interface BenchSettings {
  /** Runs per benchmark that takes a median; undefined keeps each benchmark's default. */
  runs: number | undefined;
  /** Seconds of measurement for throughput and latency. */
  measureSeconds: number;
  /** Messages per second the latency benchmark sends, all pairs together. */
  latencyRate: number;
  /**
   * Add one profiled run to throughput, latency and catch-up (left out of
   * their medians), and a heap snapshot comparison to memory.
   */
  profile: boolean;
  /** Server flags added to the benchmark defaults, for experiments such as --sqlite-synchronous normal. */
  serverArgs: string[];
  /** Setups that throughput and latency run against, in order. */
  deployments: DeploymentName[];
  /** PostgreSQL database of the postgres-* setups; each run works in a new schema that it drops afterwards. */
  databaseUrl: string;
  /** Redis of the postgres-* setups. */
  redisUrl: string;
  log(text: string): void;
}
