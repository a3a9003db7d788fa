/** A Lua script run with EVALSHA, sent again with EVAL when Redis does not have it cached. */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

export class LuaScript {
  readonly source: string;
  readonly sha1: string;

  constructor(source: string) {
    this.source = source;
    this.sha1 = createHash("sha1").update(source).digest("hex");
  }

  /**
   * Runs the script by its SHA1. Redis replies NOSCRIPT after a restart or
   * SCRIPT FLUSH, and then the full script is sent once more with EVAL,
   * which also caches it for the next EVALSHA.
   */
  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return await redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/**
 * Redis's clock in ms, read inside a script so that every node's limits use
 * one clock. Scripts that call TIME and then write need effect replication,
 * the default since Redis 5, and redis.replicate_commands() turns it on for
 * Redis 3.2 and 4.
 */
const NOW_MS = `
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

/**
 * Token bucket of one user. KEYS[1]: the bucket hash (fields tokens, at).
 * ARGV: tokens per second, capacity. Takes one token and returns 0, or
 * returns the ms until a token is free. The key expires once the bucket
 * would be full again, which is the same as no key.
 */
export const TAKE_TOKEN = new LuaScript(`${NOW_MS}
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
elseif now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
end
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  retry = math.max(1, math.ceil((1 - tokens) * 1000 / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) * 1000 / rate) + 1)
return retry
`);

/**
 * Reader leases of one user. KEYS[1]: sorted set, member = lease id, score
 * = expiry in Redis ms. ARGV: lease id, limit, lease ms. Drops expired
 * leases, then adds this one unless `limit` remain. Returns {1, count}
 * with the count after adding, or {0, count} when at the limit. The key
 * expires with its newest lease.
 */
export const ACQUIRE_LEASE = new LuaScript(`${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[2]) then
  return {0, count}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], newest[2])
return {1, count + 1}
`);

/**
 * Extends leases of several users. KEYS: their sorted sets. ARGV[1]: lease
 * ms, then for each key the number of its leases followed by their ids.
 * Adds a lease that expired or was never added (Redis was down when its
 * reader opened), because its reader is still open. Returns the number of
 * leases written.
 */
export const REFRESH_LEASES = new LuaScript(`${NOW_MS}
local expiry = now + tonumber(ARGV[1])
local arg = 2
local written = 0
for _, key in ipairs(KEYS) do
  local count = tonumber(ARGV[arg])
  arg = arg + 1
  for _ = 1, count do
    redis.call('ZADD', key, expiry, ARGV[arg])
    arg = arg + 1
    written = written + 1
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if newest[2] then redis.call('PEXPIREAT', key, newest[2]) end
end
return written
`);
