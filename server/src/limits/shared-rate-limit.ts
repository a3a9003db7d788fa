/**
 * The per-user rate limit of a deployment with Redis: one token bucket per
 * user in Redis, shared by every node, with the rate and burst of the local
 * one (rpc/rate-limit.ts). One EVALSHA per request takes the token. When
 * Redis fails, the node's local bucket decides instead.
 */
import type { RateLimiter } from "../rpc/rate-limit.js";
import { TAKE_TOKEN } from "./lua-script.js";
import type { RedisLimits } from "./redis-limits.js";

export function createSharedRateLimiter(limits: RedisLimits, ratePerSecond: number, local: RateLimiter): RateLimiter {
  const capacity = ratePerSecond * 2;
  const takeLocally = (userId: string, error: unknown) => {
    limits.fallBack("rate", error);
    return local.take(userId);
  };
  return {
    take(userId) {
      if (ratePerSecond <= 0) return 0;
      if (!limits.usable) return takeLocally(userId, undefined);
      return TAKE_TOKEN.run(limits.redis, [limits.rateKey(userId)], [ratePerSecond, capacity]).then(
        (retryAfterMs) => Number(retryAfterMs),
        (error: unknown) => takeLocally(userId, error),
      );
    },
    sweep() {
      local.sweep();
    },
  };
}
