import { readFileSync } from "node:fs";
import { availableParallelism, release, totalmem } from "node:os";

/** The machine a benchmark ran on, as printed next to its figures. */
export interface Machine {
  /** Logical CPUs this process may use (`nproc`). */
  cpus: number;
  /** "model name" from /proc/cpuinfo, or "unknown" where that file does not exist. */
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
}

export function describeMachine(): Machine {
  return {
    cpus: availableParallelism(),
    cpuModel: readCpuModel(),
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.version,
    kernel: `${process.platform} ${release()}`,
  };
}

function readCpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return match?.[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}
