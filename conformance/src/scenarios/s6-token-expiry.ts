/**
 * A's tokens live two seconds. The server ends the stream with
 * unauthenticated (TOKEN_EXPIRED) each time one expires. The client requests
 * a fresh token from the host app and resumes from its cursor, so every
 * message sent meanwhile, by B and by A, arrives exactly once and in order.
 */
import assert from "node:assert/strict";

import { assertMatchesServer, assertNoRepeats, pause } from "./checks.js";
import { openDirectUntilConnected } from "./setup.js";
import type { Scenario } from "./types.js";

const TOKEN_TTL_SECONDS = 2;
const ROUNDS = 12;
const ROUND_MS = 500;
const WAIT_MS = 20_000;

export const tokenExpiry: Scenario = {
  id: "S6",
  title: "an expiring token is replaced mid-stream without loss or repeats",
  profile: "core",
  guarantees: ["G12 authenticated and authorized", "G6 real-time with fallback"],
  timeoutMs: 60_000,

  async run(context) {
    const bob = context.user("bob");
    const alice = await context.runtime.createClient(
      context.clientOptions("alice", "main", {
        getToken: () => context.token("alice", TOKEN_TTL_SECONDS),
        tuning: { backoffBaseMs: 100, backoffCapMs: 1_000 },
      }),
    );
    try {
      const conversationId = await openDirectUntilConnected(bob, alice, WAIT_MS);

      context.step(`bob and alice write for ${(ROUNDS * ROUND_MS) / 1000} s while alice's tokens expire`);
      for (let round = 1; round <= ROUNDS; round++) {
        await bob.send(conversationId, `bob ${round}`);
        if (round % 3 === 0) await alice.send(conversationId, `alice ${round}`);
        await pause(ROUND_MS);
      }
      const expected = ROUNDS + Math.floor(ROUNDS / 3);
      await alice.waitFor({ kind: "outbox-drained" }, WAIT_MS);
      await alice.waitFor({ kind: "stored", conversationId, count: expected }, WAIT_MS);

      const events = await alice.events();
      const refreshed = events.filter((event) => event.type === "token" && event.reason !== "initial");
      assert.ok(
        refreshed.length >= 1,
        `alice must ask for a fresh token after one expired; token requests: ${JSON.stringify(
          events.filter((event) => event.type === "token"),
        )}`,
      );

      const server = await bob.history(conversationId);
      assert.equal(server.length, expected, `the server must hold ${expected} messages, each once`);
      const snapshot = await alice.snapshot();
      assertMatchesServer(snapshot.stored[conversationId] ?? [], server, "alice after token refreshes");
      assertNoRepeats(snapshot.views[conversationId] ?? [], "alice's conversation view");
    } finally {
      await alice.close();
    }
  },
};
