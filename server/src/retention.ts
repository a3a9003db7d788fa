/** Periodic deletion of events older than the retention period. */
import type { Logger } from "pino";
import type { Store } from "./store/types.js";

export interface RetentionOptions {
  store: Store;
  logger: Logger;
  retentionSeconds: number;
  intervalMs: number;
}

/** Prunes once right away and then every intervalMs; stop() waits for a running prune. */
export function startRetention(options: RetentionOptions): { stop(): Promise<void> } {
  const { store, logger } = options;
  let running: Promise<void> | undefined;
  let stopped = false;

  const prune = async () => {
    const cutoffMs = Date.now() - options.retentionSeconds * 1000;
    const started = performance.now();
    try {
      const deleted = await store.pruneEvents(cutoffMs, (deletedSoFar) => {
        logger.debug({ deletedSoFar }, "pruning expired events");
      });
      if (deleted > 0) {
        logger.info(
          { deleted, cutoff: new Date(cutoffMs).toISOString(), ms: Math.round(performance.now() - started) },
          "pruned expired events",
        );
      }
    } catch (error) {
      if (!stopped) logger.error({ err: error }, "pruning expired events failed; retrying at the next interval");
    }
  };

  const run = () => {
    if (stopped || running !== undefined) return;
    running = prune().finally(() => {
      running = undefined;
    });
  };
  const timer = setInterval(run, options.intervalMs).unref();
  run();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
