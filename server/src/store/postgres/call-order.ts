/**
 * Runs calls that share a key one after another, in call order, while calls
 * with other keys run concurrently. The PostgreSQL store keys sends by
 * sender and conversation, so one sender's concurrent sends on this node get
 * seqs in the order of the calls, as the SQLite store's queue gives them.
 */
export class CallOrder {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, call: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    const result = previous === undefined ? call() : previous.then(call, call);
    // The tail settles either way, so a failed call does not stop the next one.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
