/** Fan-out within one process: a listener set per user id. */
import type { FanOut } from "./types.js";

export function createInProcessFanOut(): FanOut {
  const listeners = new Map<string, Set<(position: number) => void>>();
  return {
    publish(userId, position) {
      const set = listeners.get(userId);
      if (set === undefined) return;
      for (const listener of set) listener(position);
    },
    subscribe(userId, listener) {
      let set = listeners.get(userId);
      if (set === undefined) {
        set = new Set();
        listeners.set(userId, set);
      }
      set.add(listener);
      return () => {
        const current = listeners.get(userId);
        if (current === undefined) return;
        current.delete(listener);
        if (current.size === 0) listeners.delete(userId);
      };
    },
    close() {
      listeners.clear();
      return Promise.resolve();
    },
  };
}
