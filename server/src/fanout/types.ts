/**
 * Fan-out carries one fact between writers and readers: "user U's event log
 * now reaches position X". Readers (Subscribe streams, long-polling Sync) wake
 * on it and re-read the store, which stays the source of truth, so a lost or
 * repeated notification delays an event but never loses or duplicates one.
 *
 * The in-process implementation serves one server process. A multi-node
 * deployment plugs in one that publishes across nodes (Redis pub/sub).
 */
export interface FanOut {
  /** Announces that the user's log reaches `position`. */
  publish(userId: string, position: number): void;
  /**
   * Calls `listener` with each announced position of the user's log until the
   * returned function is called.
   */
  subscribe(userId: string, listener: (position: number) => void): () => void;
  close(): Promise<void>;
}
