/**
 * Runs the server cases against one server: each case once per protocol,
 * one at a time, each with its own users and a timeout.
 */
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";

import type { ServerLimits } from "@chatwire/gen";

import type { CaseResult, ResultListener, SuiteRun, WireProtocol } from "../report/types.js";
import type { Claim } from "../tags.js";
import { serverCases } from "./cases/index.js";
import { postRaw } from "./raw.js";
import { createTokenMinter, ExpiredTokensUnsupported, type TokenMinter } from "./tokens.js";
import { CaseSkipped, WIRE_PROTOCOLS, type CaseContext, type ServerCase, type ServerSuiteOptions } from "./types.js";
import { createUserFactory } from "./users.js";

const DEFAULT_CASE_TIMEOUT_MS = 30_000;
/** How long the GetServerInfo call before a protocol's first case may take, in ms. */
const SERVER_INFO_TIMEOUT_MS = 10_000;
/** Abort listeners a case's signal may have before Node warns of a leak. */
const CASE_SIGNAL_LISTENERS = 500;
/** How long a timed-out case may take to settle after its calls were aborted, in ms. */
const ABORT_GRACE_MS = 1_000;

/** Runs every selected case over every selected protocol and returns the results in run order. */
export async function runServerSuite(options: ServerSuiteOptions, onResult?: ResultListener): Promise<SuiteRun> {
  const startedAt = new Date().toISOString();
  const claim: Claim = options.claim ?? { name: `server at ${options.baseUrl}`, profiles: ["core"], gaps: [] };
  const protocols = options.protocols ?? WIRE_PROTOCOLS;
  const cases = serverCases.filter((serverCase) => options.filter?.(serverCase) ?? true);
  const tokens = createTokenMinter(options.tokens);
  // Every user id of this run starts with it, so runs against one server never share users.
  const runId = `sv${randomBytes(4).toString("hex")}`;
  const serverInfo = new Map<WireProtocol, Promise<ServerLimits>>();
  const total = cases.length * protocols.length;
  const results: CaseResult[] = [];

  let caseNumber = 0;
  for (const serverCase of cases) {
    for (const protocol of protocols) {
      caseNumber++;
      // Fetched on the first case that runs, so a run whose cases are all
      // skipped makes no call.
      const limits = () => {
        let fetched = serverInfo.get(protocol);
        if (fetched === undefined) {
          fetched = fetchLimits(tokens, options.baseUrl, protocol, `${runId}.0.${protocol}`);
          serverInfo.set(protocol, fetched);
        }
        return fetched;
      };
      const run = { options, claim, tokens, protocol, limits, idPrefix: `${runId}.${caseNumber}.${protocol}` };
      options.onCaseStart?.(serverCase, protocol);
      const result = await runCase(serverCase, run);
      results.push(result);
      const reason = result.reason === undefined ? "" : `: ${result.reason}`;
      options.log?.(`${result.status} ${serverCase.id} [${protocol}] ${result.durationMs} ms${reason}`);
      onResult?.(result, results.length, total);
    }
  }

  return { suite: "server", claim, results, startedAt, finishedAt: new Date().toISOString() };
}

interface CaseRun {
  options: ServerSuiteOptions;
  claim: Claim;
  tokens: TokenMinter;
  protocol: WireProtocol;
  /** Returns the server's limits over this protocol, read once per run. */
  limits(): Promise<ServerLimits>;
  idPrefix: string;
}

async function runCase(serverCase: ServerCase, run: CaseRun): Promise<CaseResult> {
  const started = performance.now();
  const result = (status: CaseResult["status"], reason?: string, detail?: string): CaseResult => ({
    suite: "server",
    implementation: run.claim.name,
    id: serverCase.id,
    title: serverCase.title,
    profile: serverCase.profile,
    guarantees: serverCase.guarantees,
    protocol: run.protocol,
    status,
    ...(reason === undefined ? {} : { reason }),
    ...(detail === undefined ? {} : { detail }),
    durationMs: Math.round(performance.now() - started),
  });

  if (!run.claim.profiles.includes(serverCase.profile)) {
    const gap = run.claim.gaps.find((entry) => entry.profile === serverCase.profile);
    return result("skip", gap?.reason ?? `the implementation does not claim the ${serverCase.profile} profile`);
  }
  if (!serverCase.protocols.includes(run.protocol)) {
    return result("skip", `the case runs over ${serverCase.protocols.join(", ")} only`);
  }

  let limits: ServerLimits;
  try {
    limits = await run.limits();
  } catch (error) {
    return result("fail", `GetServerInfo over ${run.protocol} failed: ${firstLine(error)}`, fullText(error));
  }

  const controller = new AbortController();
  // Every concurrent call of the case listens on this signal, and the
  // rate-limit case alone has dozens in flight.
  setMaxListeners(CASE_SIGNAL_LISTENERS, controller.signal);
  const { options, protocol } = run;
  const context: CaseContext = {
    protocol,
    baseUrl: options.baseUrl,
    limits,
    shortRetentionMs: options.shortRetentionMs,
    signal: controller.signal,
    tokens: run.tokens,
    user: createUserFactory({
      baseUrl: options.baseUrl,
      protocol,
      idPrefix: run.idPrefix,
      tokens: run.tokens,
      signal: controller.signal,
    }),
    raw: (request) => postRaw(options.baseUrl, protocol, { ...request, signal: request.signal ?? controller.signal }),
    skip(reason) {
      throw new CaseSkipped(reason);
    },
    step(message) {
      options.log?.(`  ${serverCase.id} [${protocol}] ${message}`);
    },
  };

  const timeoutMs = (options.caseTimeoutMs ?? DEFAULT_CASE_TIMEOUT_MS) + (serverCase.extraTimeoutMs?.(limits, options.shortRetentionMs) ?? 0);
  const running = serverCase.run(context).then(
    () => ({ error: undefined as unknown, settled: true }),
    (error: unknown) => ({ error, settled: true }),
  );
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  const outcome = await Promise.race([running, timedOut]);
  clearTimeout(timer);
  // Cancels the streams and calls the case left open, or is still making after a timeout.
  controller.abort(new Error(`case ${serverCase.id} ended`));

  if (outcome === undefined) {
    await Promise.race([running, sleep(ABORT_GRACE_MS)]);
    return result("fail", `timed out after ${timeoutMs} ms`);
  }
  const { error } = outcome;
  if (error === undefined) return result("pass");
  if (error instanceof CaseSkipped || error instanceof ExpiredTokensUnsupported) return result("skip", error.message);
  return result("fail", firstLine(error), fullText(error));
}

/** Reads the server's limits over `protocol` as a user of its own. */
async function fetchLimits(tokens: TokenMinter, baseUrl: string, protocol: WireProtocol, idPrefix: string): Promise<ServerLimits> {
  const signal = AbortSignal.timeout(SERVER_INFO_TIMEOUT_MS);
  const user = createUserFactory({ baseUrl, protocol, idPrefix, tokens, signal })("info");
  const info = await user.chat.getServerInfo({});
  if (info.limits === undefined) throw new Error("GetServerInfo returned no limits");
  return info.limits;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n", 1)[0] ?? message;
}

function fullText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const stack = error.stack ?? `${error.name}: ${error.message}`;
  // V8 starts a stack with the whole message, but code may replace the stack,
  // so the message is added when the stack lacks it.
  return stack.includes(error.message) ? stack : `${error.message}\n${stack}`;
}
