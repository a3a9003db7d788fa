/**
 * Creates the per-user limits the server's options select. With redisUrl,
 * the rate limit and the reader leases are shared through Redis, and each
 * falls back to this node's count while Redis fails. Without it, this node
 * counts alone.
 */
import type { Logger } from "pino";
import type { ServerMetrics } from "../metrics.js";
import type { ResolvedOptions } from "../options.js";
import { createRateLimiter, type RateLimiter } from "../rpc/rate-limit.js";
import type { ReaderLeases } from "../streams/hub.js";
import { RedisLimits } from "./redis-limits.js";
import { createRedisReaderLeases } from "./redis-reader-leases.js";
import { createSharedRateLimiter } from "./shared-rate-limit.js";

export interface OpenedLimits {
  limiter: RateLimiter;
  /** Undefined without Redis: the hub counts this node's readers only. */
  leases: ReaderLeases | undefined;
  close(): Promise<void>;
}

export async function openLimits(
  config: Pick<ResolvedOptions, "redisUrl" | "redisChannelPrefix" | "rateLimit" | "heartbeatMs">,
  metrics: ServerMetrics,
  logger: Logger,
): Promise<OpenedLimits> {
  const local = createRateLimiter(config.rateLimit);
  if (config.redisUrl === undefined) return { limiter: local, leases: undefined, close: () => Promise.resolve() };
  const fallbacks = { rate: metrics.limitFallbacks.labels({ limit: "rate" }), streams: metrics.limitFallbacks.labels({ limit: "streams" }) };
  // Both series show 0 from the start, so that alerts on them see a value.
  fallbacks.rate.inc(0);
  fallbacks.streams.inc(0);
  const limits = await RedisLimits.open({
    url: config.redisUrl,
    keyPrefix: config.redisChannelPrefix,
    logger,
    fellBack: (limit) => fallbacks[limit].inc(),
  });
  return {
    limiter: createSharedRateLimiter(limits, config.rateLimit, local),
    leases: createRedisReaderLeases(limits, config.heartbeatMs),
    close: () => limits.close(),
  };
}
