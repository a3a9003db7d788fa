import type { FanOutListener } from "./types.js";

/** Listener sets by user id; a user without listeners has no entry. */
export class ListenerRegistry {
  readonly #byUser = new Map<string, Set<FanOutListener>>();

  /** Adds the listener; returns true when it is the user's first. */
  add(userId: string, listener: FanOutListener): boolean {
    let set = this.#byUser.get(userId);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#byUser.set(userId, set);
    }
    set.add(listener);
    return first;
  }

  /** Removes the listener; returns true when it was the user's last. */
  remove(userId: string, listener: FanOutListener): boolean {
    const set = this.#byUser.get(userId);
    if (set === undefined || !set.delete(listener)) return false;
    if (set.size > 0) return false;
    this.#byUser.delete(userId);
    return true;
  }

  /** Calls the user's listeners; a listener added meanwhile is not called. */
  notify(userId: string, position: number | undefined): void {
    const set = this.#byUser.get(userId);
    if (set === undefined) return;
    for (const listener of [...set]) listener(position);
  }

  users(): IterableIterator<string> {
    return this.#byUser.keys();
  }

  clear(): void {
    this.#byUser.clear();
  }
}
