// Runs the black-box server suite against the reference server: every case
// over every protocol with tokens from the shared secret, the token-command
// hook over Connect, and the retention case against a second server that
// keeps events for one second. Build the workspace first (`npm run build`):
// the server runs from server/dist.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";

import type { CaseResult, WireProtocol } from "../src/report/types.js";
import { PROFILES, type Claim } from "../src/tags.js";
import { startServerProcess, type ServerProcess } from "../src/server-process.js";
import { QUICK_SERVER_ARGS } from "../src/suites/quick-limits.js";
import {
  runServerSuite,
  serverCases,
  WIRE_PROTOCOLS,
  type ServerCase,
  type ServerSuiteOptions,
} from "../src/server-suite/index.js";

const verbose = process.env.CHATWIRE_SCENARIO_LOG === "1";
const log = verbose ? (line: string) => console.log(line) : undefined;

/** The reference server's claim in this file: every profile, since it serves them all to one client. */
const EVERY_PROFILE: Claim = { name: "reference server", profiles: PROFILES, gaps: [] };

/** Cases the main run skips on purpose, with the reason they must give. */
const EXPECTED_SKIPS = new Map<string, RegExp>([
  ["server.retention.cursor-expired", /retention was not given as short/],
  ...serverCases
    .filter((candidate) => candidate.profile === "multi-node")
    .map((candidate): [string, RegExp] => [candidate.id, /does not claim the multi-node profile/]),
]);

const MINT_TOKEN = join(dirname(fileURLToPath(import.meta.url)), "mint-token.mjs");

/** Runs one case over one protocol and returns its single result. */
async function runOne(options: Omit<ServerSuiteOptions, "filter" | "protocols">, serverCase: ServerCase, protocol: WireProtocol): Promise<CaseResult> {
  const run = await runServerSuite({ ...options, protocols: [protocol], filter: (candidate) => candidate === serverCase, log });
  expect(run.results).toHaveLength(1);
  const [result] = run.results;
  if (result === undefined) throw new Error(`no result for ${serverCase.id}`);
  return result;
}

/** Returns the server case with `id`. */
function caseById(id: string): ServerCase {
  const found = serverCases.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`server case ${id} is missing`);
  return found;
}

/** Fails the test with the case's failure, or marks it skipped when the skip is expected. */
function report(result: CaseResult, test: TestContext, expectedSkips: ReadonlyMap<string, RegExp> = new Map()): void {
  if (result.status === "fail") throw new Error(`${result.reason ?? "failed"}\n${result.detail ?? ""}`);
  if (result.status === "skip") {
    const expected = expectedSkips.get(result.id);
    expect(expected, `unexpected skip: ${result.reason}`).toBeDefined();
    expect(result.reason).toMatch(expected ?? /^$/);
    test.skip(result.reason);
  }
}

describe("server suite › reference server, tokens from the shared secret", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({ args: [...QUICK_SERVER_ARGS] });
  });

  afterAll(async () => {
    await server?.stop();
  });

  for (const serverCase of serverCases) {
    for (const protocol of serverCase.protocols) {
      it(`${serverCase.id} [${protocol}]`, async (test) => {
        const result = await runOne({ baseUrl: server.url, tokens: { jwtSecret: server.jwtSecret }, claim: EVERY_PROFILE }, serverCase, protocol);
        report(result, test, EXPECTED_SKIPS);
      });
    }
  }

  describe("runner", () => {
    it("skips cases of unclaimed profiles with the gap's reason", async () => {
      const claim = { name: "partial server", profiles: ["multi-device" as const], gaps: [{ profile: "core" as const, reason: "core runs elsewhere" }] };
      const seen: Array<[string, number, number]> = [];
      const started: string[] = [];
      const run = await runServerSuite(
        {
          baseUrl: server.url,
          tokens: { jwtSecret: server.jwtSecret },
          claim,
          filter: (candidate) => candidate.id.startsWith("server.idempotency."),
          onCaseStart: (serverCase, protocol) => started.push(`${serverCase.id} [${protocol}]`),
        },
        (result, done, total) => seen.push([result.id, done, total]),
      );
      expect(started).toEqual(run.results.map((result) => `${result.id} [${result.protocol}]`));
      expect(run.claim).toBe(claim);
      expect(run.results).toHaveLength(3 * WIRE_PROTOCOLS.length);
      for (const result of run.results) {
        expect(result).toMatchObject({ suite: "server", implementation: "partial server", status: "skip", reason: "core runs elsewhere" });
      }
      expect(seen.map(([, done]) => done)).toEqual(run.results.map((_, index) => index + 1));
      expect(new Set(seen.map(([, , total]) => total))).toEqual(new Set([run.results.length]));
    });

    it("skips a case over a protocol it does not list", async () => {
      const result = await runOne({ baseUrl: server.url, tokens: { jwtSecret: server.jwtSecret } }, caseById("server.input.malformed-json"), "grpc");
      expect(result.status).toBe("skip");
      expect(result.reason).toBe("the case runs over connect only");
    });

    it("fails the retention case when the short retention is below the advertised one", async () => {
      const options = { baseUrl: server.url, tokens: { jwtSecret: server.jwtSecret }, shortRetentionMs: 100 };
      const result = await runOne(options, caseById("server.retention.cursor-expired"), "connect");
      expect(result.status).toBe("fail");
      expect(result.reason).toMatch(/^the short retention given is 100 ms, but the server advertises event_retention_seconds 2592000 /);
    });

    it("fails a case that runs past its timeout", async () => {
      const slow = caseById("server.long-poll.times-out");
      const started = performance.now();
      const result = await runOne({ baseUrl: server.url, tokens: { jwtSecret: server.jwtSecret }, caseTimeoutMs: 1 }, slow, "grpc");
      expect(result.status).toBe("fail");
      // 1 ms plus the case's own 1,500 ms long-poll wait.
      expect(result.reason).toBe("timed out after 1501 ms");
      expect(performance.now() - started).toBeLessThan(5_000);
    });
  });
});

describe("server suite › reference server, tokens from a command", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({ args: [...QUICK_SERVER_ARGS] });
  });

  afterAll(async () => {
    await server?.stop();
  });

  const command = (extra = "") => ({
    command: `"${process.execPath}" "${MINT_TOKEN}"${extra}`,
    env: { MINT_TOKEN_SECRET: server.jwtSecret },
  });

  for (const serverCase of serverCases.filter((candidate) => /^server\.(auth|idempotency|cursor)\./.test(candidate.id))) {
    it(`${serverCase.id} [connect]`, async (test) => {
      report(await runOne({ baseUrl: server.url, tokens: command() }, serverCase, "connect"), test);
    });
  }

  it("skips expired tokens on exit code 3", async () => {
    const result = await runOne({ baseUrl: server.url, tokens: command(" --no-expired") }, caseById("server.auth.expired-token"), "connect");
    expect(result.status).toBe("skip");
    expect(result.reason).toBe("the token command cannot mint expired tokens (it exited with code 3)");
  });

  it("reports a failing token command", async () => {
    // Without MINT_TOKEN_SECRET the command exits 2.
    const tokens = { command: `"${process.execPath}" "${MINT_TOKEN}"` };
    const result = await runOne({ baseUrl: server.url, tokens }, caseById("server.idempotency.replay"), "connect");
    expect(result.status).toBe("fail");
    expect(result.reason).toMatch(/failed with exit code 2: mint-token: set CHATWIRE_USER_ID, CHATWIRE_TOKEN_TTL_SECONDS/);
    expect(result.detail).toContain("its stderr ends with:\nmint-token: set CHATWIRE_USER_ID");
  });
});

describe("server suite › reference server with one second of retention", () => {
  const RETENTION_SECONDS = 1;
  const PRUNE_INTERVAL_MS = 100;
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      args: ["--retention-seconds", String(RETENTION_SECONDS), "--prune-interval-ms", String(PRUNE_INTERVAL_MS), "--heartbeat-ms", "1000"],
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  const retention = serverCases.filter((candidate) => candidate.id.startsWith("server.retention."));
  for (const serverCase of retention) {
    for (const protocol of WIRE_PROTOCOLS) {
      it(`${serverCase.id} [${protocol}]`, async (test) => {
        const options = {
          baseUrl: server.url,
          tokens: { jwtSecret: server.jwtSecret },
          // Retention, one prune interval, and room for a busy machine.
          shortRetentionMs: RETENTION_SECONDS * 1000 + PRUNE_INTERVAL_MS + 400,
        };
        report(await runOne(options, serverCase, protocol), test);
      });
    }
  }
});
