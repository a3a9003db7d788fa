/**
 * ServerLimits.max_requests_per_second: a user over the rate gets
 * resource_exhausted RATE_LIMITED with retry_after_ms, a burst of another
 * user's at that moment is not limited, and a call after retry_after_ms
 * succeeds.
 */
import assert from "node:assert/strict";

import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";

import { assertRejection, rejectionOf, type Rejection } from "../assertions.js";
import { WIRE_PROTOCOLS, type ServerCase } from "../types.js";
import { delay } from "./helpers.js";

/** Rates above this are not exceeded from one test client; the case is skipped instead. */
const MAX_RATE_TESTED = 1_000;
const WAVE_SIZE = 50;
/** A retry_after_ms above this is not a useful hint, in ms. */
const MAX_RETRY_AFTER_MS = 60_000;

const rateLimited: ServerCase = {
  id: "server.limits.rate",
  title: "a user over max_requests_per_second gets RATE_LIMITED with retry_after_ms; other users are not limited",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const rate = context.limits.maxRequestsPerSecond;
    if (rate === 0) context.skip("the server advertises no rate limit (max_requests_per_second is 0)");
    if (rate > MAX_RATE_TESTED) context.skip(`max_requests_per_second is ${rate}; this case exceeds at most ${MAX_RATE_TESTED}`);
    const alice = context.user("alice", { retryRateLimited: false });
    const bob = context.user("bob", { retryRateLimited: false });
    // Both tokens are fetched first, so that a slow token command does not space out the requests.
    await alice.token();
    await bob.token();

    // Requests go out in concurrent waves until one is limited, up to four
    // seconds' worth plus one wave, so bursts the server allows are used up.
    const budget = 4 * rate + WAVE_SIZE;
    let accepted = 0;
    let rejections: Rejection[] = [];
    for (let sent = 0; sent < budget && rejections.length === 0; sent += WAVE_SIZE) {
      const outcomes = await Promise.all(
        Array.from({ length: WAVE_SIZE }, () =>
          alice.chat.getServerInfo({}).then(
            () => undefined,
            (error: unknown) => rejectionOf("GetServerInfo", Promise.reject(error)),
          ),
        ),
      );
      accepted += outcomes.filter((outcome) => outcome === undefined).length;
      rejections = outcomes.filter((outcome) => outcome !== undefined);
    }
    assert.ok(rejections.length > 0, `${budget} requests in waves of ${WAVE_SIZE} were all accepted; the advertised rate is ${rate} per second`);
    assert.ok(accepted >= rate, `only ${accepted} requests were accepted before the first rejection; the advertised rate is ${rate} per second`);

    for (const rejection of rejections) {
      assertRejection("a request over the rate", rejection, {
        code: Code.ResourceExhausted,
        reason: ErrorReason.RATE_LIMITED,
      });
    }
    const waits = rejections.map((rejection) => rejection.detail?.retryAfterMs ?? 0);
    const longest = Math.max(...waits);
    assert.ok(Math.min(...waits) > 0, "every RATE_LIMITED error carries retry_after_ms above 0");
    assert.ok(longest <= MAX_RETRY_AFTER_MS, `retry_after_ms is ${longest}; expected at most ${MAX_RETRY_AFTER_MS}`);

    // A limit shared by all users is empty now, so a burst of bob's right
    // after alice's rejection distinguishes it from one bucket per user.
    const burst = Math.min(WAVE_SIZE, Math.max(1, Math.floor(rate / 2)));
    const bobOutcomes = await Promise.allSettled(Array.from({ length: burst }, () => bob.chat.getServerInfo({})));
    const bobRejections = bobOutcomes.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason] : []));
    assert.equal(
      bobRejections.length,
      0,
      `${bobRejections.length} of ${burst} concurrent requests by bob, sent right after alice was limited, were rejected ` +
        `(first: ${String((bobRejections[0] as Error | undefined)?.message)}); the limit must be per user`,
    );
    await delay(longest + 50);
    await alice.chat.getServerInfo({});
  },
};

export const rateLimitCases: readonly ServerCase[] = [rateLimited];
