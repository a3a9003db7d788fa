// Runs the black-box server suite against three reference server processes
// on one PostgreSQL schema and one Redis, reached through a round-robin TCP
// load balancer. Each new connection lands on the next node, so a stream or
// long-poll is woken through Redis by a send made on another node, and a
// cursor issued by one node is read back on another. Build the workspace
// first (`npm run build`): the servers run from server/dist.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { requireService, TEST_DATABASE_URL, TEST_REDIS_URL } from "../../server/test/support/services.js";
import { startCluster, type Cluster } from "../src/cluster/index.js";
import { startLoadBalancer, type LoadBalancer } from "../src/net/index.js";
import type { WireProtocol } from "../src/report/types.js";
import { runServerSuite, serverCases } from "../src/server-suite/index.js";
import { QUICK_SERVER_ARGS } from "../src/suites/quick-limits.js";
import type { Claim } from "../src/tags.js";

const postgresAvailable = await requireService("PostgreSQL");
const redisAvailable = await requireService("Redis");

const verbose = process.env.CHATWIRE_SCENARIO_LOG === "1";
const log = verbose ? (line: string) => console.log(line) : undefined;

const NODES = 3;

/**
 * Connect only: the single-node file runs all three protocols, and the
 * node-to-node paths (Redis wake-ups, cursors, PostgreSQL sequencing) do not
 * depend on the wire protocol.
 */
const PROTOCOLS: readonly WireProtocol[] = ["connect"];

const CLAIM: Claim = {
  name: `reference server, ${NODES} nodes on PostgreSQL and Redis`,
  profiles: ["core", "offline", "multi-device", "multi-node"],
  gaps: [{ profile: "push", reason: "the reference server sends no push notifications" }],
};

/** Cases that fail against several nodes, with the failure they must report. */
const KNOWN_FAILURES = new Map<string, RegExp>([]);

/** Cases this file skips on purpose, with the reason they must give. */
const EXPECTED_SKIPS = new Map<string, RegExp>([["server.retention.cursor-expired", /retention was not given as short/]]);

describe.skipIf(!postgresAvailable || !redisAvailable)(`server suite › ${NODES} nodes behind a balancer`, () => {
  let cluster: Cluster | undefined;
  let balancer: LoadBalancer | undefined;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: NODES, databaseUrl: TEST_DATABASE_URL, redisUrl: TEST_REDIS_URL, args: [...QUICK_SERVER_ARGS] });
    balancer = await startLoadBalancer({ backends: cluster.nodes.map((node) => ({ host: "127.0.0.1", port: node.port })) });
  });

  afterAll(async () => {
    await balancer?.close();
    await cluster?.stop();
  });

  for (const serverCase of serverCases) {
    for (const protocol of PROTOCOLS.filter((candidate) => serverCase.protocols.includes(candidate))) {
      it(`${serverCase.id} [${protocol}]`, async (test) => {
        const run = await runServerSuite({
          baseUrl: balancer!.url,
          // Every node verifies tokens with the same secret.
          tokens: { jwtSecret: cluster!.nodes[0]!.jwtSecret },
          protocols: [protocol],
          claim: CLAIM,
          filter: (candidate) => candidate === serverCase,
          log,
        });
        expect(run.results).toHaveLength(1);
        const [result] = run.results;
        if (result === undefined) throw new Error(`no result for ${serverCase.id}`);
        const knownFailure = KNOWN_FAILURES.get(result.id);
        if (knownFailure !== undefined) {
          expect(result.status, "a known failure now passes; remove it from KNOWN_FAILURES").toBe("fail");
          expect(result.reason).toMatch(knownFailure);
          return;
        }
        if (result.status === "fail") throw new Error(`${result.reason ?? "failed"}\n${result.detail ?? ""}`);
        if (result.status === "skip") {
          const expected = EXPECTED_SKIPS.get(result.id);
          expect(expected, `unexpected skip: ${result.reason}`).toBeDefined();
          expect(result.reason).toMatch(expected ?? /^$/);
          test.skip(result.reason);
        }
      });
    }
  }

  it("spreads the suite's connections over every node", () => {
    const stats = balancer!.stats();
    expect(stats.connectionsRejected).toBe(0);
    for (const backend of stats.backends) {
      expect(backend.connectionsForwarded, `connections forwarded to the node on port ${backend.port}`).toBeGreaterThan(0);
    }
  });
});
