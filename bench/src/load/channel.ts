import type { LoadMessage, RunnerMessage } from "./protocol.js";

/** The child side of the IPC channel to the benchmark runner. */
export interface RunnerChannel {
  ready(detail: unknown): void;
  progress(text: string): void;
  /** Resolves when the runner sends "close". */
  closeRequested: Promise<void>;
}

/**
 * Runs `main` with the configuration the runner sends, reports its result or
 * error, and exits. Exits with status 2 when the process was not started with
 * an IPC channel, since a load generator is only useful under the runner.
 */
export function serveRunner<Config>(main: (config: Config, channel: RunnerChannel) => Promise<unknown>): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    console.error("this load generator runs under bench/dist/src/run.js; start it with `npm run bench`");
    process.exit(2);
  }
  const post = (message: LoadMessage) => send(message);

  let requestClose: () => void = () => {};
  const closeRequested = new Promise<void>((resolve) => (requestClose = resolve));
  const channel: RunnerChannel = {
    ready: (detail) => post({ type: "ready", detail }),
    progress: (text) => post({ type: "progress", text }),
    closeRequested,
  };

  process.on("message", (message: RunnerMessage) => {
    if (message.type === "close") {
      requestClose();
      return;
    }
    main(message.config as Config, channel).then(
      (result) => finish({ type: "result", result }, 0),
      (error: unknown) => finish({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) }, 1),
    );
  });

  // The runner going away ends the load, whatever it was doing.
  process.on("disconnect", () => process.exit(3));

  // Exiting right after the send callback is safe because the message is then
  // written to the channel, and it ends client sessions that would otherwise
  // keep the event loop alive.
  function finish(message: LoadMessage, code: number): void {
    send?.(message, () => process.exit(code));
  }
}
