import { startServerProcess, type ServerProcess } from "../server-launcher.js";
import type { BenchSettings } from "./types.js";

/** Server flags every benchmark uses: no rate limit, the default durability (synchronous=FULL). */
export const BENCH_SERVER_ARGS = ["--rate-limit", "0"];

/**
 * Starts a server process in a new temporary data folder, runs `body` and
 * stops the server (SIGTERM, then SIGKILL after 10 s) whatever happens.
 */
export async function withBenchServer<T>(
  settings: BenchSettings,
  options: { nodeArgs?: string[]; keepDataDir?: boolean },
  body: (server: ServerProcess) => Promise<T>,
): Promise<T> {
  const server = await startServerProcess({
    args: [...BENCH_SERVER_ARGS, ...settings.serverArgs],
    nodeArgs: options.nodeArgs ?? [],
    keepDataDir: options.keepDataDir ?? false,
  });
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}
