/**
 * The per-user cap on open Subscribe streams and waiting long-polls, shared
 * by every node through Redis. Each reader holds a lease: a member of the
 * user's sorted set `<prefix>readers:<user id>`, named `<node id>:<reader
 * id>` and scored with its expiry in Redis's clock. A script drops expired
 * leases, counts the rest and adds the new one in one step (ACQUIRE_LEASE).
 *
 * The hub refreshes all of this node's leases every refreshIntervalMs, in
 * pipelined script calls of up to REFRESH_BATCH leases each, and releases a
 * lease when its reader closes. Leases last three refresh intervals, so the
 * leases of a node that died expire within three heartbeat intervals, or
 * within MIN_LEASE_MS when that is longer.
 *
 * When Redis fails, acquire() lets the hub's local count decide. A reader
 * opened then has no lease until the next refresh adds it.
 */
import type { ReaderLeases, LeaseResult } from "../streams/hub.js";
import { ACQUIRE_LEASE, isNoScript, REFRESH_LEASES } from "./lua-script.js";
import type { RedisLimits } from "./redis-limits.js";

/** Shortest lease, in ms, so that a short heartbeat does not make leases expire under a busy event loop. */
const MIN_LEASE_MS = 2_000;
/** Leases per refresh script call, which bounds how long one call blocks Redis. */
const REFRESH_BATCH = 1_000;

export function createRedisReaderLeases(limits: RedisLimits, heartbeatMs: number): ReaderLeases {
  const leaseMs = Math.max(3 * heartbeatMs, MIN_LEASE_MS);
  const leaseId = (readerId: string) => `${limits.nodeId}:${readerId}`;
  let refreshing = false;

  const refreshBatches = async (batches: { keys: string[]; args: (string | number)[] }[]) => {
    const pipeline = limits.redis.pipeline();
    for (const batch of batches) pipeline.evalsha(REFRESH_LEASES.sha1, batch.keys.length, ...batch.keys, ...batch.args);
    const results = (await pipeline.exec()) ?? [];
    for (const [index, batch] of batches.entries()) {
      const error = results[index]?.[0];
      if (error === undefined || error === null) continue;
      if (!isNoScript(error)) throw error;
      // Sending this batch again now could re-add a lease released since, so
      // the script is only loaded here, and the next refresh writes the batch.
      await limits.redis.script("LOAD", REFRESH_LEASES.source);
      return;
    }
  };

  return {
    refreshIntervalMs: Math.floor(leaseMs / 3),

    async acquire(userId, readerId, limit): Promise<LeaseResult> {
      if (!limits.usable) {
        limits.fallBack("streams", undefined);
        return { acquired: true };
      }
      let reply: unknown;
      try {
        reply = await ACQUIRE_LEASE.run(limits.redis, [limits.readersKey(userId)], [leaseId(readerId), limit, leaseMs]);
      } catch (error) {
        limits.fallBack("streams", error);
        return { acquired: true };
      }
      const [acquired, open] = reply as [number, number];
      return acquired === 1 ? { acquired: true } : { acquired: false, open };
    },

    release(userId, readerId) {
      if (limits.redis.status !== "ready") return;
      limits.redis.zrem(limits.readersKey(userId), leaseId(readerId)).catch((error: unknown) => {
        limits.warn("release", { err: error, userId }, "could not release a stream lease in Redis; it expires by itself");
      });
    },

    refresh(readers) {
      if (refreshing || limits.redis.status !== "ready") return;
      const batches: { keys: string[]; args: (string | number)[] }[] = [];
      let batch = { keys: [] as string[], args: [leaseMs] as (string | number)[] };
      let size = 0;
      for (const [userId, readerIds] of readers) {
        if (size >= REFRESH_BATCH) {
          batches.push(batch);
          batch = { keys: [], args: [leaseMs] };
          size = 0;
        }
        batch.keys.push(limits.readersKey(userId));
        batch.args.push(readerIds.size);
        for (const readerId of readerIds) batch.args.push(leaseId(readerId));
        size += readerIds.size;
      }
      if (batch.keys.length > 0) batches.push(batch);
      if (batches.length === 0) return;
      refreshing = true;
      refreshBatches(batches)
        .catch((error: unknown) => {
          limits.warn("refresh", { err: error, users: readers.size }, "could not refresh stream leases in Redis; the next refresh adds them again");
        })
        .finally(() => {
          refreshing = false;
        });
    },
  };
}
