/**
 * Authentication: a missing, malformed, forged or unsigned token is
 * unauthenticated TOKEN_INVALID, an expired one TOKEN_EXPIRED, also when it
 * expires during a Subscribe stream.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";
import { decodeJwt, SignJWT } from "jose";

import { expectRejected, type ExpectedError } from "../assertions.js";
import { recordStream } from "../streams.js";
import { WIRE_PROTOCOLS, type ServerCase, type SuiteUser } from "../types.js";

/** Lifetime of the token of the stream-expiry case, in seconds. */
const SHORT_TTL_SECONDS = 2;
/** Time a stream may stay open after its token's expiry beyond one heartbeat interval, in ms. */
const EXPIRY_SLACK_MS = 3_000;
const SUBSCRIBE_DEADLINE_MS = 10_000;

/** Checks that a unary call, a send and a Subscribe of `user` all fail as `expected`. */
async function expectEveryCallRejected(user: SuiteUser, tokenLabel: string, expected: ExpectedError): Promise<void> {
  await expectRejected(`GetServerInfo with ${tokenLabel}`, user.chat.getServerInfo({}), expected);
  await expectRejected(`Sync with ${tokenLabel}`, user.chat.sync({ deviceId: user.deviceId }), expected);
  await expectRejected(
    `Subscribe with ${tokenLabel}`,
    async () => {
      const stream = user.chat.subscribe({ deviceId: user.deviceId }, { timeoutMs: SUBSCRIBE_DEADLINE_MS });
      for await (const frame of stream) void frame;
    },
    expected,
  );
}

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}

const invalidTokens: ServerCase = {
  id: "server.auth.invalid-token",
  title: "a missing, malformed, forged or unsigned bearer token is unauthenticated TOKEN_INVALID",
  profile: "core",
  guarantees: ["G12 authenticated and authorized"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const owner = context.user("owner");
    const genuine = await owner.token();
    const claims = decodeJwt(genuine);
    const [header, payload, signature = ""] = genuine.split(".");
    // The genuine claims signed with a key the server does not have.
    const wrongKey = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(randomBytes(32));
    // The genuine header and claims with another signature of the same length.
    const flipped = `${header}.${payload}.${Buffer.from(randomBytes(Buffer.from(signature, "base64url").length)).toString("base64url")}`;
    // An unsecured JWT (alg "none") with the genuine claims.
    const unsigned = `${base64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.`;

    const expected = { code: Code.Unauthenticated, reason: ErrorReason.TOKEN_INVALID };
    const tokens: Array<[string, string | null]> = [
      ["no token", null],
      ["a malformed token", "not.a.jwt"],
      ["a token signed with another key", wrongKey],
      ["a token with a replaced signature", flipped],
      ["an unsigned token (alg none)", unsigned],
    ];
    for (const [index, [tokenLabel, token]] of tokens.entries()) {
      await expectEveryCallRejected(context.user(`probe${index}`, { fixedToken: token }), tokenLabel, expected);
    }
    assert.ok((await owner.chat.getServerInfo({})).limits !== undefined, "the genuine token still works");
  },
};

const expiredToken: ServerCase = {
  id: "server.auth.expired-token",
  title: "an expired bearer token is unauthenticated TOKEN_EXPIRED",
  profile: "core",
  guarantees: ["G12 authenticated and authorized"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const userId = context.user("holder").userId;
    // An hour in the past: well beyond any clock tolerance a server allows.
    const expired = await context.tokens.token(userId, -3600);
    const user = context.user("expired", { fixedToken: expired });
    await expectEveryCallRejected(user, "a token that expired an hour ago", { code: Code.Unauthenticated, reason: ErrorReason.TOKEN_EXPIRED });
  },
};

const streamExpiry: ServerCase = {
  id: "server.auth.stream-expiry",
  title: "a Subscribe stream ends with unauthenticated TOKEN_EXPIRED when its token expires",
  profile: "core",
  guarantees: ["G12 authenticated and authorized", "G6 real-time with fallback"],
  protocols: WIRE_PROTOCOLS,
  extraTimeoutMs: (limits) => SHORT_TTL_SECONDS * 1000 + limits.heartbeatIntervalMs + EXPIRY_SLACK_MS,
  async run(context) {
    const holder = context.user("holder");
    const token = await context.tokens.token(holder.userId, SHORT_TTL_SECONDS);
    const expiresAtMs = (decodeJwt(token).exp ?? 0) * 1000;
    const user = context.user("short", { fixedToken: token });

    const stream = recordStream(user);
    try {
      await stream.waitFor("the first frame", (frames) => frames.length > 0, EXPIRY_SLACK_MS);
      const ended = await stream.ended;
      const endedAtMs = Date.now();
      await expectRejected("the stream after the token expired", Promise.reject(ended ?? new Error("the stream ended without an error")), {
        code: Code.Unauthenticated,
        reason: ErrorReason.TOKEN_EXPIRED,
      });
      const bound = context.limits.heartbeatIntervalMs + EXPIRY_SLACK_MS;
      assert.ok(endedAtMs - expiresAtMs <= bound, `the stream ended ${endedAtMs - expiresAtMs} ms after the token's exp; expected at most ${bound} ms`);
      assert.ok(endedAtMs >= expiresAtMs - 1_000, `the stream ended ${expiresAtMs - endedAtMs} ms before the token's exp`);
    } finally {
      stream.close();
    }
  },
};

export const authCases: readonly ServerCase[] = [invalidTokens, expiredToken, streamExpiry];
