/**
 * Runs the end-to-end scenarios on one client runtime and returns a
 * SuiteRun. Each scenario runs against its own reference server process,
 * as runScenario starts it. Scenarios of profiles the runtime does not claim
 * are skipped with the reason its claim gives, and each result goes to the
 * listener as soon as it is known.
 */
import type { ResultListener, CaseResult, SuiteRun } from "../report/types.js";
import type { ClientRuntime } from "../runtimes/types.js";
import { runScenario, type RunScenarioOptions } from "../scenarios/harness.js";
import { scenarios as allScenarios } from "../scenarios/index.js";
import type { Scenario } from "../scenarios/types.js";
import { PROFILES, type Claim } from "../tags.js";
import { describeFailure, unclaimedReason } from "./outcome.js";

/** Options of runClientSuite. */
export interface ClientSuiteOptions {
  runtime: ClientRuntime;
  /** The runtime's claim. Default: the runtime's own claim, or every profile. */
  claim?: Claim;
  /** The scenarios to consider. Default: every scenario, in report order. */
  scenarios?: readonly Scenario[];
  /** Runs only the scenarios for which this returns true; the others are left out of the run. Default: all. */
  filter?: (scenario: Scenario) => boolean;
  /** Receives each result as soon as it is known, with the count done and the total. */
  onResult?: ResultListener;
  /** Called when a scenario starts. */
  onCaseStart?: (scenario: Scenario) => void;
  /** Receives the scenarios' progress lines. Default: none (a failure's detail keeps its last lines anyway). */
  log?: (line: string) => void;
  /** The server each scenario starts; see RunScenarioOptions.server. Default: the reference server. */
  server?: RunScenarioOptions["server"];
}

/** Progress lines of a failed scenario that its detail keeps. */
const KEPT_STEPS = 30;

/** Runs the scenarios one after another and returns the run. Never rejects for a failing scenario. */
export async function runClientSuite(options: ClientSuiteOptions): Promise<SuiteRun> {
  const { runtime } = options;
  const claim = options.claim ?? runtime.claim ?? { name: runtime.name, profiles: PROFILES, gaps: [] };
  const selected = (options.scenarios ?? allScenarios).filter((scenario) => options.filter?.(scenario) ?? true);
  const startedAt = new Date().toISOString();
  const results: CaseResult[] = [];

  for (const scenario of selected) {
    const base = {
      suite: "client" as const,
      implementation: claim.name,
      id: scenario.id,
      title: scenario.title,
      profile: scenario.profile,
      guarantees: scenario.guarantees,
    };
    let result: CaseResult;
    if (!claim.profiles.includes(scenario.profile)) {
      result = { ...base, status: "skip", reason: unclaimedReason(claim, scenario.profile), durationMs: 0 };
    } else {
      options.onCaseStart?.(scenario);
      result = { ...base, ...(await runOne(scenario, runtime, options)) };
    }
    results.push(result);
    options.onResult?.(result, results.length, selected.length);
  }

  return { suite: "client", claim, results, startedAt, finishedAt: new Date().toISOString() };
}

type Outcome = Pick<CaseResult, "status" | "reason" | "detail" | "durationMs">;

async function runOne(scenario: Scenario, runtime: ClientRuntime, options: ClientSuiteOptions): Promise<Outcome> {
  const steps: string[] = [];
  const record = (line: string) => {
    steps.push(line);
    if (steps.length > KEPT_STEPS) steps.shift();
    options.log?.(line);
  };
  const started = performance.now();
  const run = runScenario(scenario, runtime, { log: record, ...(options.server ? { server: options.server } : {}) });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), scenario.timeoutMs);
  });
  try {
    const outcome = await Promise.race([run.then(() => "pass" as const), timeout]);
    const durationMs = Math.round(performance.now() - started);
    if (outcome === "pass") return { status: "pass", durationMs };
    // The scenario goes on in the background until its own waits give up;
    // its server and clients stop then, or when the runtime closes.
    run.catch(() => undefined);
    const reason = `timed out after ${scenario.timeoutMs} ms`;
    return { status: "fail", reason, detail: withSteps(reason, steps), durationMs };
  } catch (error) {
    const durationMs = Math.round(performance.now() - started);
    const failure = describeFailure(error);
    return { status: "fail", reason: failure.reason, detail: withSteps(failure.detail, steps), durationMs };
  } finally {
    clearTimeout(timer);
  }
}

function withSteps(detail: string, steps: readonly string[]): string {
  return steps.length === 0 ? detail : `${detail}\n\nlast steps:\n${steps.join("\n")}`;
}
