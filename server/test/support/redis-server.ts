/** redis-server processes of a test's own, for tests that stop and restart Redis. */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { eventually } from "./server.js";

/** Finds a port on 127.0.0.1 that was free a moment ago; another process may take it before the caller listens. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return address.port;
}

/** Starts a redis-server of this test on the port and resolves once it accepts connections. */
export async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_, reject) => {
    child.once("exit", (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}): ${output}`)));
  });
  exited.catch(() => {});
  await Promise.race([eventually(() => output.includes("Ready to accept connections"), 10_000, "redis-server to start"), exited]);
  return child;
}

export async function stopRedisServer(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}
