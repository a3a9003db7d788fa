/**
 * Per-user token bucket. Each user's bucket refills at `ratePerSecond` tokens
 * per second up to twice that (the burst), and every request takes one token.
 *
 * createRateLimiter keeps the buckets in this process. With Redis, the
 * buckets of limits/shared-rate-limit.ts are shared by every node instead.
 */
export interface RateLimiter {
  /** Takes a token for the user; returns 0 when allowed, or the milliseconds until a token is free. */
  take(userId: string): number | Promise<number>;
  /** Drops buckets that are full again, so that idle users cost no memory. */
  sweep(): void;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export function createRateLimiter(ratePerSecond: number, now: () => number = performance.now.bind(performance)): RateLimiter {
  const capacity = ratePerSecond * 2;
  const buckets = new Map<string, Bucket>();

  const refill = (bucket: Bucket, at: number) => {
    bucket.tokens = Math.min(capacity, bucket.tokens + ((at - bucket.updatedAt) / 1000) * ratePerSecond);
    bucket.updatedAt = at;
  };

  return {
    take(userId) {
      if (ratePerSecond <= 0) return 0;
      const at = now();
      let bucket = buckets.get(userId);
      if (bucket === undefined) {
        bucket = { tokens: capacity, updatedAt: at };
        buckets.set(userId, bucket);
      } else {
        refill(bucket, at);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil(((1 - bucket.tokens) / ratePerSecond) * 1000));
    },
    sweep() {
      const at = now();
      for (const [userId, bucket] of buckets) {
        refill(bucket, at);
        if (bucket.tokens >= capacity) buckets.delete(userId);
      }
    },
  };
}
