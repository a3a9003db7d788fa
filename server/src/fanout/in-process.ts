/**
 * Fan-out within one process: a listener set per user id. The store calls
 * publish after each commit and listeners run synchronously, so no
 * notification is lost and listeners never hear `undefined`.
 */
import { ListenerRegistry } from "./listeners.js";
import type { FanOut } from "./types.js";

export function createInProcessFanOut(): FanOut {
  const listeners = new ListenerRegistry();
  return {
    mayLoseNotifications: false,
    publish(userId, position) {
      listeners.notify(userId, position);
    },
    subscribe(userId, listener) {
      listeners.add(userId, listener);
      return () => void listeners.remove(userId, listener);
    },
    close() {
      listeners.clear();
      return Promise.resolve();
    },
  };
}
