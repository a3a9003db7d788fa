/**
 * The Redis connection behind the per-user limits shared by every node of a
 * deployment: the rate limit (shared-rate-limit.ts) and the reader leases
 * (redis-reader-leases.ts). Keys are `<prefix>rate:<user id>` and
 * `<prefix>readers:<user id>`, with the fan-out's channel prefix.
 *
 * While Redis is unreachable, or a command fails or times out, each limit
 * falls back to this node's own count. Each decision made locally is
 * counted in a metric, and a warning is logged at most once per 10 s per
 * limit. After a failure the node decides alone for one second before it
 * sends Redis a command again, so that a Redis that stopped replying does
 * not add its command timeout to every request.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { LogThrottle } from "../fanout/log-throttle.js";
import { connectOnce, createConnection, redisAddress } from "../fanout/redis-connection.js";

/** The limits that can fall back to a node's own count. */
export type SharedLimit = "rate" | "streams";

export interface RedisLimitsOptions {
  url: string;
  /** Prefix of every key. */
  keyPrefix: string;
  logger: Logger;
  /** Called once for each decision this node made alone because Redis failed. */
  fellBack(limit: SharedLimit): void;
  /** Timeout of each connection attempt in ms. Default 10,000. */
  connectTimeoutMs?: number;
  /** Timeout of each command in ms. A slower reply counts as a failure. Default 500. */
  commandTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 500;
const WARNING_INTERVAL_MS = 10_000;
/** How long a node decides alone after a failed command, in ms. */
const LOCAL_AFTER_FAILURE_MS = 1_000;

export class RedisLimits {
  /** Random id of this node, the first part of its lease ids. */
  readonly nodeId = randomUUID();
  readonly redis: Redis;
  readonly #keyPrefix: string;
  readonly #logger: Logger;
  readonly #throttle: LogThrottle;
  readonly #fellBack: (limit: SharedLimit) => void;
  #localUntil = 0;
  #closing = false;

  private constructor(redis: Redis, options: RedisLimitsOptions, logger: Logger) {
    this.redis = redis;
    this.#keyPrefix = options.keyPrefix;
    this.#logger = logger;
    this.#throttle = new LogThrottle(logger, WARNING_INTERVAL_MS);
    this.#fellBack = options.fellBack;
    this.#watch();
  }

  /** Connects; rejects when the first connection fails, so that a wrong URL stops the server at start. */
  static async open(options: RedisLimitsOptions): Promise<RedisLimits> {
    const address = redisAddress(options.url);
    const redis = createConnection(
      options.url,
      "chatwire-limits",
      options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    );
    await connectOnce(redis, "limits connection", address);
    const logger = options.logger.child({ component: "limits", redis: address });
    const limits = new RedisLimits(redis, options, logger);
    logger.info({ keyPrefix: options.keyPrefix, nodeId: limits.nodeId }, "per-user limits are shared through Redis");
    return limits;
  }

  rateKey(userId: string): string {
    return `${this.#keyPrefix}rate:${userId}`;
  }

  readersKey(userId: string): string {
    return `${this.#keyPrefix}readers:${userId}`;
  }

  /** False while the connection is down or shortly after a failed command: then limits count locally. */
  get usable(): boolean {
    return !this.#closing && this.redis.status === "ready" && Date.now() >= this.#localUntil;
  }

  /** Counts one decision made locally and logs a warning, at most once per WARNING_INTERVAL_MS per limit. */
  fallBack(limit: SharedLimit, error: unknown): void {
    if (error !== undefined) this.#localUntil = Date.now() + LOCAL_AFTER_FAILURE_MS;
    this.#fellBack(limit);
    this.#throttle.warn(
      `fallback:${limit}`,
      { err: error, limit, redisStatus: this.redis.status },
      limit === "rate"
        ? "Redis is unavailable for the shared rate limit; each node limits its own requests until it is back"
        : "Redis is unavailable for the shared stream limit; each node counts its own streams until it is back",
    );
  }

  /** Logs a failure that needs no fallback, such as a lease refresh or release that did not reach Redis. */
  warn(key: string, fields: Record<string, unknown>, message: string): void {
    this.#throttle.warn(key, fields, message);
  }

  async close(): Promise<void> {
    this.#closing = true;
    if (this.redis.status !== "ready") {
      this.redis.disconnect();
    } else {
      try {
        await this.redis.quit();
      } catch {
        this.redis.disconnect();
      }
    }
    this.#logger.info({ nodeId: this.nodeId }, "limits closed their Redis connection");
  }

  #watch(): void {
    let lostAt: number | undefined;
    this.redis.on("error", (error: Error) => {
      if (!this.#closing) this.#throttle.warn("error", { err: error }, "limits Redis connection failed");
    });
    this.redis.on("close", () => {
      if (this.#closing || lostAt !== undefined) return;
      lostAt = Date.now();
      this.#logger.warn("limits lost their Redis connection; reconnecting, and each node counts alone meanwhile");
    });
    this.redis.on("ready", () => {
      if (this.#closing) return;
      const downMs = lostAt === undefined ? 0 : Date.now() - lostAt;
      lostAt = undefined;
      this.#localUntil = 0;
      this.#logger.info({ downMs }, "limits reconnected to Redis");
    });
  }
}
