/**
 * Results of a conformance run, as every suite produces them and every
 * reporter (progress line, table, JUnit XML, Markdown) reads them.
 */
import type { Claim, Guarantee, Profile } from "../tags.js";

export type SuiteName = "storage" | "client" | "server";

export type CaseStatus = "pass" | "fail" | "skip";

/** The wire protocol a server case ran over. */
export type WireProtocol = "connect" | "grpc" | "grpc-web";

/** The outcome of one case on one implementation. */
export interface CaseResult {
  suite: SuiteName;
  /** The implementation under test, as its claim names it ("node", "reference server"). */
  implementation: string;
  /**
   * Stable case id, such as "S4" or "server.idempotency.replay". Storage
   * cases use their contract group ("outbox"), and the title distinguishes
   * the cases of one group.
   */
  id: string;
  title: string;
  profile: Profile;
  guarantees: readonly Guarantee[];
  /** Set for server cases, which run once per protocol. */
  protocol?: WireProtocol;
  status: CaseStatus;
  /** The reason a case was skipped, or the first line of its failure. */
  reason?: string;
  /** The whole failure: assertion message, stack and where logs were kept. */
  detail?: string;
  durationMs: number;
}

/** A whole run of one suite on one implementation. */
export interface SuiteRun {
  suite: SuiteName;
  claim: Claim;
  results: CaseResult[];
  /** ISO 8601 times of the run's start and end. */
  startedAt: string;
  finishedAt: string;
}

/** Receives results while a run is in progress, for a live progress line. */
export type ResultListener = (result: CaseResult, done: number, total: number) => void;
