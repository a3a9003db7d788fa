/**
 * Fan-out carries one fact between writers and readers: "user U's event log
 * now reaches position X". Readers (Subscribe streams, long-polling Sync) wake
 * on it and re-read the store, which stays the source of truth, so a lost or
 * repeated notification delays an event but never loses or duplicates one.
 *
 * The in-process implementation serves one server process. Several nodes
 * that share a PostgreSQL store use the Redis one (`redis.ts`).
 */
export interface FanOut {
  /**
   * True when a published position can fail to reach a listener without the
   * listener being called with `undefined` (Redis pub/sub delivers at most
   * once). Readers then also poll the store once per heartbeat interval.
   */
  readonly mayLoseNotifications: boolean;
  /**
   * Announces that the user's log reaches `position`. Must not throw, because
   * the store calls it after a commit that already succeeded.
   */
  publish(userId: string, position: number): void;
  /**
   * Calls `listener` with each announced position of the user's log until the
   * returned function is called.
   */
  subscribe(userId: string, listener: FanOutListener): () => void;
  close(): Promise<void>;
}

/**
 * Receives an announced head of a user's log, or `undefined` when
 * announcements may have been missed: after the subscription becomes active
 * at the broker, and after a lost broker connection comes back. On
 * `undefined` the reader re-reads the store.
 */
export type FanOutListener = (position: number | undefined) => void;
