import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, readFileSync, rmSync, type WriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { get } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

import { SignJWT } from "jose";

import { pickFreePort } from "./net/free-port.js";

/** Options of startServerProcess. */
export interface ServerProcessOptions {
  /** Data folder of the server. Default: a new temporary folder that stop() removes. */
  dataDir?: string;
  /** Server flags added after the launcher's own (--port, --host, --data-dir). */
  args?: string[];
  /** Environment variables of the child, added to this process's environment. */
  env?: Record<string, string>;
  /** Node flags placed before the script, such as ["--cpu-prof"]. Default: none. */
  nodeArgs?: string[];
  /**
   * Absolute path of a script to run in place of chatwire-server, such as a
   * server embedding startServer with extra options. It must take the same
   * flags and CHATWIRE_JWT_SECRET, and serve GET /healthz. A `.ts` file runs
   * with `--import tsx`. Default: server/dist/bin/chatwire-server.js.
   */
  script?: string;
  /** How long to wait for `GET /healthz` to return 200, in ms. Default 20,000, room for a cold start on a busy CI machine. */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before it sends SIGKILL, in ms. Default 10,000. */
  stopTimeoutMs?: number;
  /** Keep a temporary data folder after stop(), for its log. Default false. */
  keepDataDir?: boolean;
  /**
   * HS256 secret the server verifies tokens with, at least 32 bytes. Default:
   * 32 random bytes per server. Servers that share one database as nodes of
   * one deployment need the same secret.
   */
  jwtSecret?: string;
}

/** Exit status of a server process. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A chatwire reference server running as a child process on 127.0.0.1. */
export interface ServerProcess {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The port, kept across restart(). */
  readonly port: number;
  /** The process id of the current child; it changes on restart(). */
  readonly pid: number;
  readonly dataDir: string;
  /** The file that receives the child's stdout and stderr, in the data folder. */
  readonly logFile: string;
  /** The HS256 secret the server verifies tokens with. */
  readonly jwtSecret: string;
  /** Mints an HS256 token for `userId` valid for `ttlSeconds` (default 3,600; a negative value gives an expired token). */
  token(userId: string, ttlSeconds?: number): Promise<string>;
  /** Sends `signal` (default SIGKILL) and resolves when the child has exited. */
  kill(signal?: NodeJS.Signals): Promise<ServerExit>;
  /** Stops the child if it runs, then starts it again on the same port, data folder and secret. */
  restart(): Promise<void>;
  /** Sends SIGTERM, waits for exit, sends SIGKILL after stopTimeoutMs, and removes a temporary data folder. */
  stop(): Promise<ServerExit>;
}

const LOG_TAIL_LINES = 40;
const BIND_ATTEMPTS = 3;

/** Children still running, killed if this process exits without stopping them. */
const liveChildren = new Set<ChildProcess>();
/** Temporary data folders of servers not yet stopped, removed if this process exits first. */
const temporaryDataDirs = new Set<string>();
process.once("exit", () => {
  for (const child of liveChildren) child.kill("SIGKILL");
  for (const dir of temporaryDataDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts `node server/dist/bin/chatwire-server.js` (or `options.script`) on
 * a free loopback port and resolves once `GET /healthz` returns 200. Build
 * the server first.
 */
export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const serverBin = options.script ?? join(findRepoRoot(), "server", "dist", "bin", "chatwire-server.js");
  if (!existsSync(serverBin)) {
    const hint = options.script === undefined ? "run `npx tsc -b server` first" : "check the script option";
    throw new Error(`server entry point ${serverBin} not found; ${hint}`);
  }

  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "chatwire-server-")));
  await mkdir(dataDir, { recursive: true });
  const removesDataDir = ownsDataDir && options.keepDataDir !== true;
  if (removesDataDir) temporaryDataDirs.add(dataDir);
  const jwtSecret = options.jwtSecret ?? randomBytes(32).toString("base64url");
  const logFile = join(dataDir, "server.log");
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;

  let port = 0;
  let child: RunningChild | undefined;
  for (let attempt = 1; child === undefined; attempt++) {
    port = await pickFreePort();
    const launch = { serverBin, port, dataDir, jwtSecret, logFile, options };
    try {
      child = await launchChild(launch);
    } catch (error) {
      // Another process can take the port between pickFreePort() and the bind.
      if (error instanceof PortInUseError && attempt < BIND_ATTEMPTS) continue;
      // The error already carries the last lines of the log, so a temporary
      // folder goes; a kept one is named for the whole log.
      if (removesDataDir) {
        await rm(dataDir, { recursive: true, force: true });
        temporaryDataDirs.delete(dataDir);
      } else if (error instanceof Error) {
        error.message += `\n(full log: ${logFile})`;
      }
      throw error;
    }
  }

  let current: RunningChild = child;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get pid() {
      return current.child.pid ?? -1;
    },
    dataDir,
    logFile,
    jwtSecret,

    token: (userId, ttlSeconds = 3_600) => mintToken(jwtSecret, userId, ttlSeconds),

    async kill(signal = "SIGKILL") {
      if (current.exit === undefined) current.child.kill(signal);
      return current.exited;
    },

    async restart() {
      if (current.exit === undefined) await stopChild(current, stopTimeoutMs);
      current = await launchChild({ serverBin, port, dataDir, jwtSecret, logFile, options });
    },

    async stop() {
      const exit = current.exit ?? (await stopChild(current, stopTimeoutMs));
      if (removesDataDir) {
        await rm(dataDir, { recursive: true, force: true });
        temporaryDataDirs.delete(dataDir);
      }
      return exit;
    },
  };
}

/** Mints an HS256 bearer token with `sub` = userId, as the server expects. */
export async function mintToken(secret: string, userId: string, ttlSeconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}

interface LaunchSpec {
  serverBin: string;
  port: number;
  dataDir: string;
  jwtSecret: string;
  logFile: string;
  options: ServerProcessOptions;
}

interface RunningChild {
  child: ChildProcess;
  /** Set once the child has exited. */
  exit: ServerExit | undefined;
  exited: Promise<ServerExit>;
  tail: string[];
}

class PortInUseError extends Error {}

async function launchChild(spec: LaunchSpec): Promise<RunningChild> {
  const { options } = spec;
  const args = [
    ...(options.nodeArgs ?? []),
    spec.serverBin.endsWith(".ts") ? ["--import", tsxLoaderUrl()] : [],
    spec.serverBin,
    ["--port", String(spec.port)],
    ["--host", "127.0.0.1"],
    ["--data-dir", spec.dataDir],
    ...(options.args ?? []),
  ].flat();
  const child = spawn(process.execPath, args, {
    cwd: spec.dataDir,
    // The secret goes through the environment because command lines are
    // visible to every user of the machine.
    env: { ...process.env, CHATWIRE_JWT_SECRET: spec.jwtSecret, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  liveChildren.add(child);

  const tail: string[] = [];
  let markExited: (exit: ServerExit) => void = () => {};
  const exited = new Promise<ServerExit>((resolve) => (markExited = resolve));
  const running: RunningChild = { child, exit: undefined, exited, tail };
  const onExit = (exit: ServerExit) => {
    if (running.exit !== undefined) return;
    liveChildren.delete(child);
    running.exit = exit;
    markExited(exit);
  };
  child.once("exit", (code, signal) => onExit({ code, signal }));
  // A failed spawn emits "error" and no "exit".
  child.once("error", (error) => {
    tail.push(`spawn of ${process.execPath} failed: ${error.message}`);
    onExit({ code: null, signal: null });
  });

  const log = createWriteStream(spec.logFile, { flags: "a" });
  // A failed start removes a temporary data folder, possibly before the
  // stream has opened the file; the last lines are kept in `tail` anyway.
  log.on("error", () => {});
  captureOutput(child, log, tail);
  // Close the log only after the pipes have flushed their last bytes.
  child.once("close", () => log.end());

  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const outcome = await waitUntilHealthy(`http://127.0.0.1:${spec.port}/healthz`, running, startTimeoutMs);
  if (outcome === "healthy") return running;

  if (outcome === "timeout") {
    child.kill("SIGKILL");
    await running.exited;
  }
  const lastLines = running.tail.join("\n");
  const status = running.exit;
  const failure =
    outcome === "timeout"
      ? `did not return 200 for GET /healthz within ${startTimeoutMs} ms`
      : `exited before it was healthy (code ${status?.code ?? "none"}, signal ${status?.signal ?? "none"})`;
  const message =
    `chatwire server on port ${spec.port} ${failure}; last lines of its output:\n${lastLines}`;
  if (/EADDRINUSE/.test(lastLines)) throw new PortInUseError(message);
  throw new Error(message);
}

function captureOutput(child: ChildProcess, log: WriteStream, tail: string[]): void {
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line.trim() === "") continue;
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
    }
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
}

/** Polls the health URL every 50 ms until it returns 200, the child exits or the time is up. */
async function waitUntilHealthy(
  url: string,
  running: RunningChild,
  timeoutMs: number,
): Promise<"healthy" | "exited" | "timeout"> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (running.exit !== undefined) return "exited";
    if ((await httpStatus(url)) === 200) return "healthy";
    await Promise.race([sleep(50), running.exited]);
  }
  return running.exit !== undefined ? "exited" : "timeout";
}

/** Returns the status of a GET, or 0 when the request failed; never keeps a connection open. */
function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: 1_000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(0));
  });
}

async function stopChild(running: RunningChild, timeoutMs: number): Promise<ServerExit> {
  running.child.kill("SIGTERM");
  const timer = new AbortController();
  const graceful = await Promise.race([
    running.exited,
    sleep(timeoutMs, undefined, { signal: timer.signal }).then(
      () => undefined,
      () => undefined,
    ),
  ]);
  timer.abort();
  if (graceful !== undefined) return graceful;
  running.child.kill("SIGKILL");
  return running.exited;
}

/**
 * Returns the file URL of tsx's loader. The child runs in its data folder,
 * where a bare `--import tsx` would not resolve.
 */
function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
}

/** Returns the monorepo root: the nearest folder above this file whose package.json is named "chatwire". */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth++) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === "chatwire") return dir;
    dir = dirname(dir);
  }
  throw new Error(`chatwire repository root not found above ${fileURLToPath(import.meta.url)}`);
}
