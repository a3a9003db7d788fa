import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc's CPU times, from `getconf CLK_TCK`; 100 where getconf fails, the Linux default. */
const TICKS_PER_SECOND = readTicksPerSecond();

function readTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/**
 * Returns the user plus system CPU seconds of each process that /proc still
 * lists (Linux only; other processes are left out), by process id.
 */
export function readProcessCpuSeconds(pids: readonly number[]): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue;
    }
    // Fields after the command name, which is in parentheses and may contain
    // spaces: state is field 3, utime field 14 and stime field 15 (proc(5)).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (Number.isFinite(ticks)) seconds.set(pid, ticks / TICKS_PER_SECOND);
  }
  return seconds;
}

/** Returns the CPU seconds spent between two readings by the processes present in both. */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, end] of after) {
    const start = before.get(pid);
    if (start !== undefined) total += end - start;
  }
  return total;
}
