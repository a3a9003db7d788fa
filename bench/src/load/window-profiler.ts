import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";

/** A V8 CPU profile of one stretch of this process, started and stopped by the caller. */
export interface WindowProfiler {
  /** Stops profiling and writes the profile to the path given at start, in .cpuprofile format. */
  stopAndWrite(): Promise<void>;
}

/**
 * Starts the V8 CPU profiler through the inspector, so that a profile covers
 * only the measured stretch and not module loading or result checks (as
 * `node --cpu-prof` would).
 */
export async function startWindowProfiler(path: string): Promise<WindowProfiler> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return {
    async stopAndWrite() {
      const { profile } = await session.post("Profiler.stop");
      session.disconnect();
      await writeFile(path, JSON.stringify(profile));
    },
  };
}
