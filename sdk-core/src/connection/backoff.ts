/**
 * Exponential backoff with full jitter: the delay before retry number
 * `attempt` (0 for the first retry) is uniform in [0, min(cap, base * 2^attempt)).
 *
 * Full jitter spreads the retries of many clients that failed together (a
 * server restart) over the whole window, which removes the synchronized
 * waves that plain exponential backoff produces. Source: Marc Brooker,
 * "Exponential Backoff And Jitter", AWS Architecture Blog, 2015.
 */
export interface BackoffPolicy {
  /** Window of the first retry, in ms. */
  baseMs: number;
  /** Largest window, in ms. */
  capMs: number;
}

/** Returns the delay in whole ms before retry number `attempt`. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const window = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * window);
}
