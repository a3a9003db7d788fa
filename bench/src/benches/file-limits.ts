import { execFileSync } from "node:child_process";

/** Soft and hard RLIMIT_NOFILE of processes this one starts, from `ulimit -n` and `ulimit -Hn` in sh. */
export function readFileLimits(): { soft: number; hard: number } {
  const read = (flag: string) => {
    const text = execFileSync("sh", ["-c", `ulimit ${flag}`], { encoding: "utf8" }).trim();
    return text === "unlimited" ? Number.POSITIVE_INFINITY : Number(text);
  };
  return { soft: read("-n"), hard: read("-Hn") };
}
