import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

import type { LoadMessage, RunnerMessage } from "./load/protocol.js";

/** The load generators under bench/dist/src/load/. */
export type LoadScript = "pairs" | "idle-clients" | "seed" | "catchup";

/**
 * A load-generator child process. The load runs outside the server's process
 * and outside the runner's, so that the server's CPU and memory figures hold
 * the server's work only.
 */
export class LoadProcess {
  private readonly child: ChildProcess;
  private readonly inbox: LoadMessage[] = [];
  private waiter: (() => void) | undefined;
  private exitStatus: string | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    readonly script: LoadScript,
    onProgress: (text: string) => void,
    execArgv: string[],
  ) {
    const path = fileURLToPath(new URL(`./load/${script}.js`, import.meta.url));
    this.child = fork(path, [], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
      execArgv,
    });
    this.child.on("message", (message: LoadMessage) => {
      if (message.type === "progress") {
        onProgress(`[${script}] ${message.text}`);
        return;
      }
      this.inbox.push(message);
      this.waiter?.();
    });
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitStatus = `code ${code ?? "none"}, signal ${signal ?? "none"}`;
        this.waiter?.();
        resolve();
      });
    });
  }

  /**
   * Forks `bench/dist/src/load/<script>.js` with the Node flags in
   * `execArgv` (default none) and sends it its configuration.
   */
  static start(
    script: LoadScript,
    config: unknown,
    onProgress: (text: string) => void,
    execArgv: string[] = [],
  ): LoadProcess {
    const load = new LoadProcess(script, onProgress, execArgv);
    load.send({ type: "start", config });
    return load;
  }

  send(message: RunnerMessage): void {
    this.child.send(message);
  }

  /**
   * Waits for the next "ready" or "result" message and returns its payload.
   * Rejects on an "error" message, on exit without the message and after
   * `timeoutMs`.
   */
  async receive(type: "ready" | "result", timeoutMs: number): Promise<unknown> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const message = this.inbox.shift();
      if (message?.type === "error") throw new Error(`load generator ${this.script} failed: ${message.message}`);
      if (message?.type === "ready" && type === "ready") return message.detail;
      if (message?.type === "result" && type === "result") return message.result;
      if (message !== undefined) continue;

      if (this.exitStatus !== undefined) {
        throw new Error(`load generator ${this.script} exited (${this.exitStatus}) before it sent "${type}"`);
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(`load generator ${this.script} sent no "${type}" within ${timeoutMs} ms; see its output above`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** Waits up to `graceMs` for the child to exit by itself, then kills it. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exitStatus !== undefined) return;
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    if (this.child.connected) this.child.disconnect();
    await this.exited;
    clearTimeout(timer);
  }
}
