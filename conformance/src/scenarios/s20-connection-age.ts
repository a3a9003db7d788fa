/**
 * A proxy between alice and the server closes every connection when it
 * reaches a fixed age, as a load balancer or NAT gateway with a maximum
 * connection lifetime does. Bob and alice keep writing across one or more
 * cuts, and each cut may hit the stream or a send in flight. Alice must end
 * with every message once, in server order, and bob's server history must
 * contain each of her messages once.
 *
 * `connectionAgeScenario` builds the scenario for any age and number of
 * cuts. The suite runs a 1 s age with three cuts, which puts reconnects in
 * the middle of steady traffic, and a 30 s age with one cut, which runs with
 * the SDK's default heartbeat and liveness timings.
 */
import assert from "node:assert/strict";

import { assertMatchesServer, assertNoRepeats, pause } from "./checks.js";
import { QUICK_RECONNECT, openDirectUntilConnected, requireFaultProxy, startAliceBehindProxy } from "./setup.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 30_000;
/** Rounds of writing per connection lifetime. */
const ROUNDS_PER_AGE = 6;

/**
 * Builds the scenario with connections cut at `ageMs`, writing long enough
 * for at least `cuts` cuts; `id` names it in reports.
 */
export function connectionAgeScenario(id: string, ageMs: number, cuts: number): Scenario {
  const roundMs = Math.max(100, Math.floor(ageMs / ROUNDS_PER_AGE));
  const rounds = Math.ceil((ageMs * (cuts + 0.5)) / roundMs);
  return {
    id,
    title: `connections cut at ${ageMs / 1_000} s of age lose and repeat no message`,
    profile: "core",
    guarantees: ["G6 real-time with fallback", "G2 exactly-once effect", "G4 one order for everyone"],
    proxy: true,
    timeoutMs: ageMs * (cuts + 0.5) + 60_000,

    async run(context) {
      const proxy = requireFaultProxy(context);
      const bob = context.user("bob");
      const alice = await startAliceBehindProxy(context, proxy.url, QUICK_RECONNECT);
      try {
        const conversationId = await openDirectUntilConnected(bob, alice, WAIT_MS);

        context.step(`the proxy cuts every connection at ${ageMs} ms of age; both write for ${rounds} rounds`);
        proxy.cutAtAge(ageMs);
        const aliceTexts: string[] = [];
        for (let round = 1; round <= rounds; round++) {
          await bob.send(conversationId, `bob ${round}`);
          if (round % 3 === 0) {
            const text = `alice ${round}`;
            await alice.send(conversationId, text);
            aliceTexts.push(text);
          }
          await pause(roundMs);
        }
        const cutCount = proxy.stats().cuts;
        assert.ok(cutCount >= cuts, `the proxy must have cut at least ${cuts} connections; it cut ${cutCount}`);

        context.step(`after ${cutCount} cuts alice catches up`);
        const expected = rounds + aliceTexts.length;
        await alice.waitFor({ kind: "outbox-drained" }, WAIT_MS);
        await alice.waitFor({ kind: "stored", conversationId, count: expected }, WAIT_MS);
        const server = await bob.history(conversationId);
        assert.equal(server.length, expected, `the server must hold ${expected} messages, each once`);
        assert.deepEqual(
          server.filter((message) => message.senderId === "alice").map((message) => message.text),
          aliceTexts,
          "the server must hold alice's messages once, in send order",
        );
        const snapshot = await alice.snapshot();
        assertMatchesServer(snapshot.stored[conversationId] ?? [], server, "alice after the cuts");
        assertNoRepeats(snapshot.views[conversationId] ?? [], "alice's view");
      } finally {
        proxy.reset();
        await alice.close();
      }
    },
  };
}

/** Connections live 1 s; three cuts in 3.5 s of writing. */
export const connectionAge = connectionAgeScenario("S20", 1_000, 3);

/** Connections live 30 s; one cut in 45 s of writing. */
export const connectionAge30s = connectionAgeScenario("S20-30s", 30_000, 1);
