/**
 * GET /dev/token?user=alice[&ttl=3600]: a token for any user, in development
 * mode only. ttl is in decimal seconds from 1 to 604,800 (7 days), default 3,600.
 */
import { decodeJwt } from "jose";
import { mintToken } from "./auth/tokens.js";
import { isUserId } from "./rpc/validate.js";

const DEFAULT_TTL_SECONDS = 3600;
const MAX_TTL_SECONDS = 7 * 24 * 3600;

export function createDevTokenRoute(secret: string, issuer: string | undefined, audience: string | undefined) {
  return async (query: URLSearchParams): Promise<{ status: number; body: unknown }> => {
    const user = query.get("user") ?? "";
    if (!isUserId(user)) {
      return {
        status: 400,
        body: { error: `user ${JSON.stringify(user.slice(0, 80))} is not a valid user id: use 1 to 64 characters of [A-Za-z0-9_.@-]` },
      };
    }
    const ttlText = query.get("ttl");
    // Number() also reads "1e3", "0x10" and " 5 ", so only plain decimal digits pass.
    const ttl = ttlText === null ? DEFAULT_TTL_SECONDS : /^[0-9]{1,7}$/.test(ttlText) ? Number(ttlText) : NaN;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
      return {
        status: 400,
        body: { error: `ttl ${JSON.stringify(ttlText)} is invalid: use decimal digits for whole seconds from 1 to ${MAX_TTL_SECONDS}` },
      };
    }
    const token = await mintToken({
      secret,
      userId: user,
      ttlSeconds: ttl,
      ...(issuer === undefined ? {} : { issuer }),
      ...(audience === undefined ? {} : { audience }),
    });
    const expiresAt = new Date((decodeJwt(token).exp ?? 0) * 1000).toISOString();
    return { status: 200, body: { token, user_id: user, expires_at: expiresAt } };
  };
}
