/**
 * Creates the fan-out the server's options select: Redis when redisUrl is
 * set, otherwise the in-process one.
 */
import type { Logger } from "pino";
import type { ServerMetrics } from "../metrics.js";
import type { ResolvedOptions } from "../options.js";
import { createInProcessFanOut } from "./in-process.js";
import { createRedisFanOut } from "./redis.js";
import { redisAddress } from "./redis-connection.js";
import type { FanOut } from "./types.js";

/** An open fan-out and the facts about it that the start log line shows (never a password). */
export interface OpenedFanOut {
  fanOut: FanOut;
  description: Record<string, string>;
}

export async function openFanOut(
  config: Pick<ResolvedOptions, "redisUrl" | "redisChannelPrefix">,
  metrics: ServerMetrics,
  logger: Logger,
): Promise<OpenedFanOut> {
  if (config.redisUrl === undefined) {
    return { fanOut: createInProcessFanOut(), description: { fanOut: "in-process" } };
  }
  const fanOut = await createRedisFanOut({
    url: config.redisUrl,
    logger,
    channelPrefix: config.redisChannelPrefix,
    hooks: {
      notificationReceived: (lagSeconds) => metrics.fanOutLag.observe(lagSeconds),
      published: (count) => metrics.fanOutPublished.inc(count),
      publishFailed: (count) => metrics.fanOutPublishFailures.inc(count),
      connectionChanged: (connected) => metrics.fanOutConnected.set(connected ? 1 : 0),
    },
  });
  return {
    fanOut,
    description: {
      fanOut: "redis",
      redis: redisAddress(config.redisUrl),
      pubSub: fanOut.pubSubMode,
      channelPrefix: config.redisChannelPrefix,
    },
  };
}
