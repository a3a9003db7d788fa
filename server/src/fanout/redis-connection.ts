/** Redis connections of the fan-out and the shared limits: settings, the first connect and pub/sub mode detection. */
import { Redis } from "ioredis";
import type { Logger } from "pino";

/** "sharded": SPUBLISH/SSUBSCRIBE (Redis 7 and later); "classic": PUBLISH/SUBSCRIBE. */
export type PubSubMode = "sharded" | "classic";

const RECONNECT_BASE_MS = 50;
const RECONNECT_CAP_MS = 2_000;

/**
 * Returns the delay before reconnect attempt `attempt` (1, 2, ...), in ms: a
 * random delay up to 50 ms * 2^(attempt - 1), capped at 2 s. This is "full
 * jitter" from https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 * (2015), so nodes that lost the same Redis do not reconnect in step.
 */
export function reconnectDelayMs(attempt: number): number {
  const ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempt - 1, 20));
  return Math.round(Math.random() * ceiling);
}

/**
 * Returns "host:port" of a redis:// or rediss:// URL, for logs and errors
 * (the URL may contain a password). Throws a RangeError for any other value.
 */
export function redisAddress(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") || parsed.hostname === "") {
    throw new RangeError(
      "redisUrl is not a Redis URL; expected redis://[user:password@]host[:port][/db] or rediss:// for TLS",
    );
  }
  return `${parsed.hostname}:${parsed.port === "" ? "6379" : parsed.port}`;
}

/**
 * Creates a connection that has not connected yet. Commands fail at once
 * while it is disconnected (no offline queue), and it neither resubscribes
 * nor resends commands after a reconnect. The fan-out resubscribes on its
 * own, and the shared limits count locally when a command fails.
 */
export function createConnection(url: string, connectionName: string, connectTimeoutMs: number, commandTimeoutMs?: number): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectionName,
    connectTimeout: connectTimeoutMs,
    commandTimeout: commandTimeoutMs,
    enableOfflineQueue: false,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    retryStrategy: reconnectDelayMs,
  });
}

/** Error of a failed first connection to Redis, with a message naming the address and the socket error. */
export class RedisConnectionError extends Error {
  override name = "RedisConnectionError";
}

/**
 * Connects once and resolves when the connection is ready. On failure it
 * stops the connection's reconnect loop and rejects with a
 * RedisConnectionError. `role` names the connection in that error, as in
 * "fan-out publisher".
 */
export async function connectOnce(redis: Redis, role: string, address: string): Promise<void> {
  let socketError: Error | undefined;
  const onError = (error: Error) => {
    socketError ??= error;
  };
  redis.on("error", onError);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    const reason = (socketError ?? (error as Error)).message;
    throw new RedisConnectionError(
      `failed to connect the ${role} to Redis at ${address}: ${reason}. Check that Redis is running and the URL is right`,
      { cause: socketError ?? error },
    );
  } finally {
    redis.off("error", onError);
  }
}

/**
 * Returns "sharded" when the server has SPUBLISH, SSUBSCRIBE and SUNSUBSCRIBE
 * (Redis 7.0 and later), and "classic" otherwise or when COMMAND is not
 * allowed. COMMAND INFO returns null in place of an unknown command.
 */
export async function detectPubSubMode(redis: Redis, logger: Logger): Promise<PubSubMode> {
  let entries: unknown;
  try {
    entries = await redis.call("COMMAND", "INFO", "SPUBLISH", "SSUBSCRIBE", "SUNSUBSCRIBE");
  } catch (error) {
    logger.warn({ err: error }, "COMMAND INFO failed, so the fan-out cannot tell whether Redis has sharded pub/sub; using PUBLISH/SUBSCRIBE");
    return "classic";
  }
  const known = Array.isArray(entries) && entries.length === 3 && entries.every((entry) => Array.isArray(entry));
  return known ? "sharded" : "classic";
}
