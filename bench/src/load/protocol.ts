/**
 * Messages between the benchmark runner and a load-generator child process
 * over the Node IPC channel. The runner sends one "start" with the
 * benchmark's configuration. A child reports "ready" when the runner should
 * start measuring the server: when its measurement window opens, or when
 * the clients it keeps open are connected. Every child ends with one
 * "result" or "error". A "close" from the runner tells a child that holds
 * clients open to close them and report its result.
 */
export type RunnerMessage = { type: "start"; config: unknown } | { type: "close" };

export type LoadMessage =
  | { type: "ready"; detail: unknown }
  | { type: "progress"; text: string }
  | { type: "result"; result: unknown }
  | { type: "error"; message: string };
