import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import { formatNumber } from "../stats.js";

/** The parts of a V8 .cpuprofile (as written by `node --cpu-prof`) that the summary reads. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: CallFrame;
    children?: number[];
  }>;
  /** Monotonic clock at the start of profiling, in microseconds. */
  startTime: number;
  /** Node id of each sample. */
  samples: number[];
  /** Microseconds between consecutive samples. */
  timeDeltas: number[];
}

/**
 * A stretch of time on the monotonic clock, in microseconds, as
 * `process.hrtime.bigint() / 1000n` returns it. V8 stamps profiles with
 * the same clock (CLOCK_MONOTONIC on Linux), so a window taken in one
 * process selects the samples of a profile written by another.
 */
export interface ProfileWindow {
  startUs: number;
  endUs: number;
}

/** Returns the monotonic clock in microseconds, for ProfileWindow. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/**
 * Areas of chatwire's server work, each recognised by a frame anywhere on the
 * sampled stack, checked in this order. A sample under a write-queue commit
 * counts as store work even though Connect's handler is further up.
 */
const AREAS: Array<{ area: string; matches: (frame: CallFrame, isLeaf: boolean) => boolean }> = [
  { area: "garbage collection", matches: (frame, isLeaf) => isLeaf && frame.functionName === "(garbage collector)" },
  { area: "request abort signals (AbortController, DOMException)", matches: (frame) => /abort_controller|domexception/.test(frame.url) },
  { area: "store writes (SQL of each write, savepoints, COMMIT)", matches: (frame) => /store\/sqlite\/write-queue/.test(frame.url) },
  {
    area: "Subscribe delivery (read events, build frames)",
    matches: (frame) => /rpc\/subscribe|store\/sqlite\/event-log/.test(frame.url) && frame.functionName !== "appendEvent",
  },
  {
    area: "RPC handling (node:http2, Connect, interceptors)",
    matches: (frame) => /@connectrpc\/|internal\/http2\/|rpc\/interceptor|http\/routes/.test(frame.url),
  },
];
const OTHER_AREA = "other (timers, microtasks, startup)";

/** Self time of one function, summed over every place it was sampled. */
export interface FunctionCost {
  name: string;
  location: string;
  selfMs: number;
  /** Share of the sampled time that was not idle. */
  selfPercent: number;
}

/** Self time of the functions that took most, and the same summed per code origin. */
export interface ProfileSummary {
  files: string[];
  busyMs: number;
  idleMs: number;
  functions: FunctionCost[];
  /** Self time per origin: a package under node_modules, node internals, or chatwire's own dist folder. */
  origins: Array<{ origin: string; selfMs: number; selfPercent: number }>;
  /** Busy time per area of server work (see AREAS), each sample counted once. */
  areas: Array<{ area: string; ms: number; percent: number }>;
}

/**
 * Reads every .cpuprofile in `dir` and returns the `top` functions by self
 * time, counting only samples inside `window` when one is given.
 */
export async function summarizeCpuProfiles(dir: string, top: number, window?: ProfileWindow): Promise<ProfileSummary> {
  const files = (await readdir(dir)).filter((name) => name.endsWith(".cpuprofile")).map((name) => join(dir, name));
  if (files.length === 0) {
    throw new Error(
      `no .cpuprofile in ${dir}: node writes it only when the server exits normally, so check that SIGTERM shuts the server down`,
    );
  }

  const selfByFunction = new Map<string, { name: string; location: string; selfUs: number }>();
  const selfByOrigin = new Map<string, number>();
  const timeByArea = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;

  for (const file of files) {
    const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    const parents = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
    let sampledAt = profile.startTime;
    profile.samples.forEach((nodeId, index) => {
      const micros = profile.timeDeltas[index] ?? 0;
      sampledAt += micros;
      if (window !== undefined && (sampledAt < window.startUs || sampledAt > window.endUs)) return;
      const frame = nodes.get(nodeId);
      if (frame === undefined) return;
      totalUs += micros;
      if (frame.functionName === "(idle)") {
        idleUs += micros;
        return;
      }
      const location = shortenUrl(frame.url, frame.lineNumber);
      const key = `${frame.functionName}@${location}`;
      const entry = selfByFunction.get(key) ?? { name: frame.functionName || "(anonymous)", location, selfUs: 0 };
      entry.selfUs += micros;
      selfByFunction.set(key, entry);
      const origin = originOf(frame.url, frame.functionName);
      selfByOrigin.set(origin, (selfByOrigin.get(origin) ?? 0) + micros);
      const area = areaOf(nodeId, nodes, parents);
      timeByArea.set(area, (timeByArea.get(area) ?? 0) + micros);
    });
  }

  const busyUs = totalUs - idleUs;
  const percent = (micros: number) => (busyUs === 0 ? 0 : (100 * micros) / busyUs);
  return {
    files,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    functions: [...selfByFunction.values()]
      .sort((a, b) => b.selfUs - a.selfUs)
      .slice(0, top)
      .map((entry) => ({
        name: entry.name,
        location: entry.location,
        selfMs: entry.selfUs / 1000,
        selfPercent: percent(entry.selfUs),
      })),
    origins: [...selfByOrigin.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([origin, micros]) => ({ origin, selfMs: micros / 1000, selfPercent: percent(micros) })),
    areas: [...timeByArea.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, micros]) => ({ area, ms: micros / 1000, percent: percent(micros) })),
  };
}

/** Returns the first area in AREAS that matches a frame of the sample's stack. */
function areaOf(leafId: number, nodes: Map<number, CallFrame>, parents: Map<number, number>): string {
  const stack: CallFrame[] = [];
  for (let id: number | undefined = leafId; id !== undefined && stack.length < 500; id = parents.get(id)) {
    const frame = nodes.get(id);
    if (frame !== undefined) stack.push(frame);
  }
  for (const { area, matches } of AREAS) {
    if (stack.some((frame, index) => matches(frame, index === 0))) return area;
  }
  return OTHER_AREA;
}

/** Renders a summary as plain text lines for the benchmark's notes; `subject` names the profiled process. */
export function formatProfileSummary(summary: ProfileSummary, subject = "server"): string {
  const lines = [
    `${subject} CPU profile: ${formatNumber(summary.busyMs)} ms busy, ${formatNumber(summary.idleMs)} ms idle; ` +
      `top functions by self time (% of busy time):`,
    ...summary.functions.map(
      (entry) => `  ${entry.selfPercent.toFixed(1).padStart(5)}%  ${entry.name}  ${entry.location}`,
    ),
    "self time by origin:",
    ...summary.origins
      .slice(0, 12)
      .map((entry) => `  ${entry.selfPercent.toFixed(1).padStart(5)}%  ${entry.origin}`),
  ];
  // The areas name server code, so they mean nothing for a client profile.
  if (subject === "server") {
    lines.push(
      "busy time by area of work (each sample counted once, under the first area its stack matches):",
      ...summary.areas.map((entry) => `  ${entry.percent.toFixed(1).padStart(5)}%  ${entry.area}`),
    );
  }
  return lines.join("\n");
}

/** The monorepo root, four levels above bench/dist/src/profile/cpu-profile.js. */
const REPO_ROOT = new URL("../../../../", import.meta.url).pathname;

function shortenUrl(url: string, lineNumber: number): string {
  if (url === "") return "";
  const path = url.replace(/^file:\/\//, "");
  const inModules = path.lastIndexOf("/node_modules/");
  let short = path;
  if (inModules >= 0) short = path.slice(inModules + "/node_modules/".length);
  else if (path.startsWith(REPO_ROOT)) short = path.slice(REPO_ROOT.length);
  // V8 line numbers start at 0.
  return `${short}:${lineNumber + 1}`;
}

/** Returns the package, node internal area or chatwire folder a frame's code comes from. */
function originOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node internals";
  const path = url.replace(/^file:\/\//, "");
  const inModules = path.lastIndexOf("/node_modules/");
  if (inModules >= 0) {
    const parts = path.slice(inModules + "/node_modules/".length).split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? path);
  }
  if (!path.startsWith(REPO_ROOT)) return path;
  // A workspace package's code: the file, so the summary shows which module costs what.
  return `chatwire ${path.slice(REPO_ROOT.length)}`;
}
