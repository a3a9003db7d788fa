// Runs the conformance suites against deliberately broken servers and
// clients (test/broken/) and checks that the cases aimed at each defect
// fail, with the reason that names it, while a few unrelated controls still
// pass. The same cases pass against the unbroken server and client, started
// the same way. Only those cases run, over Connect only, to keep the file's
// run time near a minute. Build the workspace first: servers run from
// server/dist.
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { CaseResult } from "../src/report/types.js";
import { createNodeRuntime } from "../src/runtimes/node.js";
import type { ClientRuntime } from "../src/runtimes/types.js";
import { startServerProcess } from "../src/server-process.js";
import { runServerSuite } from "../src/server-suite/index.js";
import { runClientSuite } from "../src/suites/client-suite.js";
import { QUICK_SERVER_ARGS } from "../src/suites/quick-limits.js";
import { PROFILES } from "../src/tags.js";
import { createClientVariantRuntime, type ClientVariant } from "./broken/client-variants.js";
import type { ServerVariant } from "./broken/server-variants.js";

const VARIANT_SCRIPT = fileURLToPath(new URL("./broken/server-variant-main.ts", import.meta.url));


/** Cases a broken server variant must fail, with the pattern of each failure reason, and controls that must pass. */
interface Expectation {
  /** Server cases that must fail. */
  serverFailures: Record<string, RegExp>;
  /** Server cases that must still pass. */
  serverControls: readonly string[];
  /** Client scenarios that must fail; empty when no scenario aims at the defect. */
  scenarioFailures: Record<string, RegExp>;
}

const SERVER_EXPECTATIONS: Record<Exclude<ServerVariant, "none">, Expectation> = {
  "dedupe-off": {
    serverFailures: {
      "server.idempotency.replay": /must be marked replayed/,
      "server.idempotency.key-reused": /the same key with other text succeeded/,
      "server.idempotency.concurrent": /every duplicate returns the same message_id/,
    },
    serverControls: ["server.membership.not-found", "server.history.paging"],
    // Where the proxy cut the connection before the first attempt committed,
    // the server stores one copy and S2 fails on its explicit replay instead.
    // S36 always retries after the first attempt committed.
    scenarioFailures: {
      S2: /the server must store the message once; it has 2|must be reported as replayed/,
      S36: /the server must store the message once; it has 2/,
    },
  },
  "seq-gap": {
    serverFailures: {
      "server.order.concurrent-senders": /continue from 1 without a gap or repeat/,
      "server.history.paging": /GetHistory before_seq 0, limit 5: seqs/,
    },
    serverControls: ["server.membership.not-found", "server.idempotency.key-reused"],
    scenarioFailures: { S2: /bob must see the message once, followed by the next one/ },
  },
  "heartbeats-off": {
    serverFailures: {
      "server.subscribe.first-heartbeat": /the first frame of Subscribe is a heartbeat/,
      "server.subscribe.idle-heartbeats": /waiting for the first and one idle heartbeat/,
    },
    serverControls: ["server.cursor.paging", "server.long-poll.wakes"],
    scenarioFailures: { S4: /timed out after \d+ ms waiting for alice leaving the "connected" state/ },
  },
  "cursor-back": {
    serverFailures: {
      "server.cursor.paging": /resuming from its cursor returns exactly the rest/,
      "server.long-poll.times-out": /no events arrive/,
    },
    serverControls: ["server.idempotency.replay", "server.membership.not-found"],
    scenarioFailures: { S3: /Sync after bob's cursor must return 2000 message events/ },
  },
  "membership-off": {
    serverFailures: {
      "server.membership.not-found": /by a non-member succeeded; expected an error/,
      "server.membership.removed": /GetHistory by a removed member succeeded; expected an error/,
    },
    serverControls: ["server.idempotency.replay", "server.cursor.paging"],
    scenarioFailures: { S7: /GetHistory by a non-member succeeded; expected a Connect error/ },
  },
  "receipts-lower": {
    serverFailures: { "server.receipts.marks": /marks below the stored ones are ignored, not an error: expected 3\/3, got 2\/1/ },
    serverControls: ["server.idempotency.replay", "server.cursor.paging"],
    scenarioFailures: {},
  },
  "nfc-text": {
    serverFailures: { "server.text.fidelity": /SendMessage response for text \d+: \d+ bytes received, \d+ expected; first difference at byte \d+/ },
    serverControls: ["server.limits.text-bytes", "server.idempotency.key-reused"],
    scenarioFailures: { S8: /bytes received, \d+ expected; first difference at byte/ },
  },
  "batch-cursor-lag": {
    serverFailures: { "server.subscribe.batch-cursors": /Sync from the cursor of batch 1 \(last position \d+\) returns exactly the events after it/ },
    serverControls: ["server.subscribe.first-heartbeat", "server.cursor.paging"],
    scenarioFailures: {},
  },
  "rate-global": {
    serverFailures: { "server.limits.rate": /concurrent requests by bob, sent right after alice was limited, were rejected/ },
    serverControls: ["server.membership.not-found", "server.history.paging"],
    scenarioFailures: {},
  },
};

/** Scenarios each broken client must fail, with the pattern of each failure reason, and controls that must pass. */
const CLIENT_EXPECTATIONS: Record<ClientVariant, { failures: Record<string, RegExp>; controls: readonly string[] }> = {
  "volatile-outbox": { failures: { S1: /bob must receive 2 or 3 messages; received 0/ }, controls: ["S8"] },
  "nfc-storage": { failures: { S8: /as bob stored it: \d+ bytes received, \d+ expected; first difference at byte/ }, controls: ["S10"] },
  "new-key-per-retry": { failures: { S36: /the server must store the message once; it has 2/ }, controls: ["S13"] },
};

/** Runs the server cases `ids` over Connect against a fresh process of `variant`. */
async function runServerCases(variant: ServerVariant, ids: readonly string[]): Promise<Map<string, CaseResult>> {
  const server = await startServerProcess({ script: VARIANT_SCRIPT, args: ["--variant", variant, ...QUICK_SERVER_ARGS] });
  try {
    const run = await runServerSuite({
      baseUrl: server.url,
      tokens: { jwtSecret: server.jwtSecret },
      protocols: ["connect"],
      claim: { name: `reference server ${variant}`, profiles: PROFILES, gaps: [] },
      filter: (serverCase) => ids.includes(serverCase.id),
    });
    return new Map(run.results.map((result) => [result.id, result]));
  } finally {
    await server.stop();
  }
}

/** Runs the scenarios `ids` on `runtime`, each against its own process of `variant`. */
async function runScenarios(runtime: ClientRuntime, variant: ServerVariant, ids: readonly string[]): Promise<Map<string, CaseResult>> {
  const run = await runClientSuite({
    runtime,
    filter: (scenario) => ids.includes(scenario.id),
    server: { script: VARIANT_SCRIPT, args: ["--variant", variant] },
  });
  return new Map(run.results.map((result) => [result.id, result]));
}

function expectFailures(results: Map<string, CaseResult>, failures: Record<string, RegExp>): void {
  for (const [id, reason] of Object.entries(failures)) {
    const result = results.get(id);
    expect(result, `${id} did not run`).toBeDefined();
    expect(result?.status, `${id} must fail`).toBe("fail");
    expect(result?.reason, `${id} must fail for the defect`).toMatch(reason);
  }
}

function expectPasses(results: Map<string, CaseResult>, ids: readonly string[]): void {
  for (const id of ids) {
    const result = results.get(id);
    expect(result, `${id} did not run`).toBeDefined();
    expect(result?.status, `${id}: ${result?.reason ?? ""}\n${result?.detail ?? ""}`).toBe("pass");
  }
}

describe("broken variants", () => {
  let runtime: ClientRuntime;
  beforeAll(async () => {
    runtime = await createNodeRuntime();
  });
  afterAll(async () => {
    await runtime?.close();
  });

  describe("server", () => {
    for (const [variant, expectation] of Object.entries(SERVER_EXPECTATIONS) as Array<[ServerVariant, Expectation]>) {
      it(`${variant} fails its cases`, { timeout: 90_000 }, async () => {
        const serverResults = await runServerCases(variant, [...Object.keys(expectation.serverFailures), ...expectation.serverControls]);
        expectFailures(serverResults, expectation.serverFailures);
        expectPasses(serverResults, expectation.serverControls);

        const scenarioIds = Object.keys(expectation.scenarioFailures);
        if (scenarioIds.length > 0) {
          const scenarioResults = await runScenarios(runtime, variant, scenarioIds);
          expectFailures(scenarioResults, expectation.scenarioFailures);
        }
      });
    }

    it("unbroken server passes the same cases", { timeout: 120_000 }, async () => {
      const expectations = Object.values(SERVER_EXPECTATIONS);
      const serverIds = [...new Set(expectations.flatMap((entry) => [...Object.keys(entry.serverFailures), ...entry.serverControls]))];
      const scenarioIds = [...new Set(expectations.flatMap((entry) => Object.keys(entry.scenarioFailures)))];

      expectPasses(await runServerCases("none", serverIds), serverIds);
      expectPasses(await runScenarios(runtime, "none", scenarioIds), scenarioIds);
    });
  });

  describe("client", () => {
    for (const [variant, expectation] of Object.entries(CLIENT_EXPECTATIONS)) {
      it(`${variant} fails its scenarios`, { timeout: 90_000 }, async () => {
        const broken = await createClientVariantRuntime(variant as ClientVariant);
        let results: Map<string, CaseResult>;
        try {
          const run = await runClientSuite({
            runtime: broken,
            filter: (scenario) => scenario.id in expectation.failures || expectation.controls.includes(scenario.id),
          });
          results = new Map(run.results.map((result) => [result.id, result]));
        } finally {
          await broken.close();
        }

        expectFailures(results, expectation.failures);
        expectPasses(results, expectation.controls);
      });
    }

    it("unbroken Node client passes the same scenarios", { timeout: 90_000 }, async () => {
      const ids = [...new Set(Object.values(CLIENT_EXPECTATIONS).flatMap((entry) => [...Object.keys(entry.failures), ...entry.controls]))];
      const run = await runClientSuite({ runtime, filter: (scenario) => ids.includes(scenario.id) });

      expectPasses(new Map(run.results.map((result) => [result.id, result])), ids);
    });
  });
});
