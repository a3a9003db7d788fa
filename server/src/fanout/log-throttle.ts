import type { Logger } from "pino";

/**
 * Rate-limits repeated warnings: per key, at most one line per interval. The
 * next line that goes out carries `suppressed`, the number of lines dropped
 * since the previous one.
 */
export class LogThrottle {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #byKey = new Map<string, { loggedAt: number; suppressed: number }>();

  constructor(logger: Logger, intervalMs: number) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const state = this.#byKey.get(key);
    if (state !== undefined && now - state.loggedAt < this.#intervalMs) {
      state.suppressed++;
      return;
    }
    const suppressed = state?.suppressed ?? 0;
    this.#byKey.set(key, { loggedAt: now, suppressed: 0 });
    this.#logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
