import { Code } from "@connectrpc/connect";
import { ChatError } from "../errors/chat-error.js";
import type { Clock } from "../options.js";

/**
 * Runs `call` with an AbortSignal that fires when `parent` fires or when
 * `timeoutMs` passes on the injected clock. A timeout surfaces as
 * deadline_exceeded naming the limit; a parent abort is rethrown as it came,
 * and the caller tells it apart by checking `parent.aborted`.
 *
 * The deadline runs on the client's clock rather than Connect's `timeoutMs`,
 * so that tests with a fake clock control it.
 */
export async function callWithDeadline<T>(
  clock: Clock,
  parent: AbortSignal,
  timeoutMs: number,
  what: string,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  const onParentAbort = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener("abort", onParentAbort);
  const timer = clock.setTimeout(() => {
    timedOut = true;
    controller.abort(new ChatError(Code.DeadlineExceeded, `${what} got no response within ${timeoutMs} ms`));
  }, timeoutMs);
  try {
    return await call(controller.signal);
  } catch (error) {
    if (timedOut && !parent.aborted) {
      throw new ChatError(Code.DeadlineExceeded, `${what} got no response within ${timeoutMs} ms; retrying`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    clock.clearTimeout(timer);
    parent.removeEventListener("abort", onParentAbort);
  }
}

/** Returns a child AbortController that aborts when `parent` does; `dispose()` unlinks it. */
export function linkedController(parent: AbortSignal): { controller: AbortController; dispose(): void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener("abort", onAbort);
  return { controller, dispose: () => parent.removeEventListener("abort", onAbort) };
}

/** Resolves after `delayMs` on the clock, or rejects when `signal` aborts first. */
export function sleep(clock: Clock, delayMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
