/**
 * Alice's tokens live two seconds, and right after the first one expires
 * the host app's token service fails three times in a row (its getToken
 * callback rejects), as an auth server having a bad minute would. The
 * client keeps requesting tokens, and when they come again it resumes
 * from its cursor: every message of the outage, bob's and alice's own,
 * arrives exactly once and in order.
 */
import assert from "node:assert/strict";

import { assertMatchesServer, assertNoRepeats, pause } from "./checks.js";
import type { Scenario } from "./types.js";

const TOKEN_TTL_SECONDS = 2;
const FAILED_REQUESTS = 3;
const WAIT_MS = 20_000;

export const tokenServiceOutage: Scenario = {
  id: "S18",
  title: "a token callback that fails after expiry is retried, and nothing is lost or repeated",
  profile: "core",
  guarantees: ["G12 authenticated and authorized", "G6 real-time with fallback"],
  timeoutMs: 60_000,

  async run(context) {
    const bob = context.user("bob");
    let issued = 0;
    let failed = 0;
    const alice = await context.runtime.createClient(
      context.clientOptions("alice", "main", {
        getToken: async () => {
          issued += 1;
          if (issued > 1 && failed < FAILED_REQUESTS) {
            failed += 1;
            throw new Error(`token service unavailable (failure ${failed} of ${FAILED_REQUESTS})`);
          }
          return context.token("alice", TOKEN_TTL_SECONDS);
        },
        tuning: { backoffBaseMs: 200, backoffCapMs: 1_000 },
      }),
    );
    try {
      const conversationId = await bob.createDirect("alice");
      await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);

      context.step("bob and alice write while alice's token expires and the token service fails");
      const rounds = 10;
      for (let round = 1; round <= rounds; round++) {
        await bob.send(conversationId, `bob ${round}`);
        if (round % 4 === 0) await alice.send(conversationId, `alice ${round}`);
        await pause(400);
      }
      const expected = rounds + Math.floor(rounds / 4);
      await alice.waitFor({ kind: "outbox-drained" }, WAIT_MS);
      await alice.waitFor({ kind: "stored", conversationId, count: expected }, WAIT_MS);
      assert.equal(failed, FAILED_REQUESTS, `the token service must have failed ${FAILED_REQUESTS} times`);
      assert.ok(issued > FAILED_REQUESTS + 1, "alice must get a token again after the failures");

      const server = await bob.history(conversationId);
      assert.equal(server.length, expected, `the server must hold ${expected} messages, each once`);
      const snapshot = await alice.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
      assertMatchesServer(snapshot.stored[conversationId] ?? [], server, "alice after the token outage");
      assertNoRepeats(snapshot.views[conversationId] ?? [], "alice's conversation view");
    } finally {
      await alice.close();
    }
  },
};
