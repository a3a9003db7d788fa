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
  /** Write a CPU profile of the server during the throughput benchmark and summarize it. */
  profile: boolean;
  log(text: string): void;
}
