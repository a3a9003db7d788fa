import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));

/**
 * Runs a TypeScript script of this package's tests in a child process until
 * it writes `marker` on stdout, then kills it with SIGKILL. Resolves with the
 * signal that ended the child. Rejects when the child exits first or does not
 * write the marker within 20 s.
 */
export async function runUntilThenKill(script: string, args: string[], marker: string): Promise<NodeJS.Signals | null> {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: packageRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_, signal) => resolve(signal)));

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not write "${marker}" within 20 s; stderr: ${stderr}`)), 20_000);
      child.stdout.on("data", (chunk: Buffer) => {
        if (!chunk.toString().includes(marker)) return;
        clearTimeout(timer);
        child.kill("SIGKILL");
        resolve();
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`child exited with ${code} before writing "${marker}"; stderr: ${stderr}`));
      });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  return exited;
}
