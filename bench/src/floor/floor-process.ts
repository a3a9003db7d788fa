import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

import { pickFreePort } from "@chatwire/conformance";

/** The HTTP/2 floor server as a child process. */
export interface FloorServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts bench/dist/src/floor/http2-floor-server.js on a free port and waits until it listens (at most 10 s). */
export async function startFloorServer(): Promise<FloorServer> {
  const port = await pickFreePort();
  const script = fileURLToPath(new URL("./http2-floor-server.js", import.meta.url));
  const child = spawn(process.execPath, ["--expose-gc", script, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // A runner that exits early must not leave the floor server behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  void exited.then(() => process.off("exit", killOnExit));
  const stop = async () => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.kill("SIGTERM");
    await exited;
    clearTimeout(timer);
  };

  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    child.stdout?.once("data", () => {
      clearTimeout(timer);
      resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  if (!listening || child.pid === undefined) {
    await stop();
    throw new Error(`the HTTP/2 floor server ${script} did not start listening on port ${port} within 10 s`);
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid, stop };
}
