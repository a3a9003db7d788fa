/**
 * The token hook: how the server suite gets bearer tokens for the users it
 * creates. A server under test accepts tokens from one of two sources.
 *
 * Shared secret (`{ jwtSecret, issuer?, audience? }`): the server verifies
 * HS256 tokens with this secret. The suite mints each token itself with
 * `sub` (the user id), `iat` and `exp`, plus `iss` and `aud` when given.
 *
 * Token command (`{ command }`): a shell command the suite runs for each
 * token it mints (see the cache rule below), with two environment
 * variables:
 *
 * - `CHATWIRE_USER_ID`: the user id, 1 to 64 characters of [A-Za-z0-9_.@-].
 * - `CHATWIRE_TOKEN_TTL_SECONDS`: the lifetime in whole seconds. A negative
 *   value requests a token that expired that many seconds ago.
 *
 * The command prints the token on stdout (surrounding whitespace is ignored)
 * and exits 0. A command that cannot mint expired tokens exits with code 3
 * when the TTL is negative, so the cases that need an expired token are
 * skipped with that reason. Any other exit code, an empty output or a run
 * longer than `timeoutMs` fails the case that needed the token, and the
 * error carries the end of the command's stderr.
 *
 * Tokens of an hour or more are cached per user and lifetime until half of
 * their lifetime has passed, and expired ones for the whole run. Shorter
 * ones are minted on every request.
 */
import { spawn, type ChildProcess } from "node:child_process";

import { SignJWT } from "jose";

/** Exit code by which a token command reports that it cannot mint expired tokens. */
export const EXIT_CANNOT_MINT_EXPIRED = 3;

/** A shared HS256 secret the suite signs tokens with. */
export interface SecretTokenSource {
  jwtSecret: string;
  /** The `iss` claim to set. Default: none. */
  issuer?: string;
  /** The `aud` claim to set. Default: none. */
  audience?: string;
}

/** A shell command that prints a token; see the contract above. */
export interface CommandTokenSource {
  command: string;
  /** Working folder of the command. Default: this process's. */
  cwd?: string;
  /** Variables added to the command's environment, such as a signing key. Default: none. */
  env?: Record<string, string>;
  /** How long one run may take, in ms. Default 10,000. */
  timeoutMs?: number;
}

export type TokenSource = SecretTokenSource | CommandTokenSource;

/** Mints tokens from a TokenSource. */
export interface TokenMinter {
  /**
   * Returns a token for `userId` valid for `ttlSeconds` (default 3,600), or
   * expired `-ttlSeconds` ago when negative. Rejects with
   * ExpiredTokensUnsupported when the command cannot mint expired tokens.
   */
  token(userId: string, ttlSeconds?: number): Promise<string>;
}

/** Error of a token command that exited with code 3 because it cannot mint expired tokens. */
export class ExpiredTokensUnsupported extends Error {
  override readonly name = "ExpiredTokensUnsupported";
}

const DEFAULT_TTL_SECONDS = 3_600;
/** Tokens living at least this long are cached. */
const CACHED_TTL_SECONDS = 3_600;
const COMMAND_TIMEOUT_MS = 10_000;
/** The end of a failed command's stderr that an error message quotes. */
const STDERR_TAIL_CHARS = 2_000;

/** Creates a minter for `source`. */
export function createTokenMinter(source: TokenSource): TokenMinter {
  const mintUncached = "jwtSecret" in source ? secretMinter(source) : commandMinter(source);
  const cache = new Map<string, { token: Promise<string>; renewAt: number }>();

  return {
    token(userId, ttlSeconds = DEFAULT_TTL_SECONDS) {
      if (!Number.isInteger(ttlSeconds) || ttlSeconds === 0) {
        throw new RangeError(`ttlSeconds is ${ttlSeconds}; use a whole number of seconds other than 0`);
      }
      if (ttlSeconds > 0 && ttlSeconds < CACHED_TTL_SECONDS) return mintUncached(userId, ttlSeconds);

      const key = `${userId}\n${ttlSeconds}`;
      const cached = cache.get(key);
      if (cached !== undefined && Date.now() < cached.renewAt) return cached.token;
      const token = mintUncached(userId, ttlSeconds);
      // An expired token needs no renewal. A valid one is renewed at half its lifetime.
      const renewAt = ttlSeconds < 0 ? Number.POSITIVE_INFINITY : Date.now() + (ttlSeconds * 1000) / 2;
      cache.set(key, { token, renewAt });
      // A failed mint is not cached, so the next case tries again.
      token.catch(() => cache.delete(key));
      return token;
    },
  };
}

function secretMinter(source: SecretTokenSource): (userId: string, ttlSeconds: number) => Promise<string> {
  const key = new TextEncoder().encode(source.jwtSecret);
  return async (userId, ttlSeconds) => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(userId)
      // An expired token was issued before it expired.
      .setIssuedAt(Math.min(now, now + ttlSeconds - 60))
      .setExpirationTime(now + ttlSeconds);
    if (source.issuer !== undefined) jwt.setIssuer(source.issuer);
    if (source.audience !== undefined) jwt.setAudience(source.audience);
    return jwt.sign(key);
  };
}

function commandMinter(source: CommandTokenSource): (userId: string, ttlSeconds: number) => Promise<string> {
  const timeoutMs = source.timeoutMs ?? COMMAND_TIMEOUT_MS;
  return (userId, ttlSeconds) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(source.command, {
        shell: true,
        cwd: source.cwd,
        env: { ...process.env, ...source.env, CHATWIRE_USER_ID: userId, CHATWIRE_TOKEN_TTL_SECONDS: String(ttlSeconds) },
        stdio: ["ignore", "pipe", "pipe"],
        // Its own process group, so that a timeout also ends what the shell started.
        detached: process.platform !== "win32",
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
      });
      const describe = `token command ${JSON.stringify(source.command)} for user ${userId} with TTL ${ttlSeconds} s`;
      const timer = setTimeout(() => {
        killProcessGroup(child);
        reject(new Error(`${describe} did not exit within ${timeoutMs} ms`));
      }, timeoutMs);
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(new Error(`${describe} could not start: ${error.message}`));
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        const token = stdout.trim();
        if (code === 0 && token !== "" && !/\s/.test(token)) {
          resolve(token);
        } else if (code === EXIT_CANNOT_MINT_EXPIRED && ttlSeconds < 0) {
          reject(new ExpiredTokensUnsupported(`the token command cannot mint expired tokens (it exited with code ${code})`));
        } else if (code === 0) {
          reject(new Error(`${describe} exited 0 but printed ${token === "" ? "nothing" : "more than one word"} on stdout; print the token alone`));
        } else {
          const status = signal === null ? `exit code ${code}` : `signal ${signal}`;
          reject(new Error(`${describe} failed with ${status}${stderrSummary(stderr)}`));
        }
      });
    });
}

/** Kills the command's shell and everything in its process group. */
function killProcessGroup(child: ChildProcess): void {
  if (child.pid !== undefined && process.platform !== "win32") {
    try {
      process.kill(-child.pid, "SIGKILL");
      return;
    } catch {
      // The group is gone already; the shell itself is killed below.
    }
  }
  child.kill("SIGKILL");
}

/**
 * Formats the end of a failed command's stderr: its last line on the first
 * line of the message, which reports and progress lines show, then the
 * whole tail.
 */
function stderrSummary(stderr: string): string {
  const tail = stderr.trim();
  if (tail === "") return " and wrote nothing on stderr";
  const lastLine = tail.slice(tail.lastIndexOf("\n") + 1).trim();
  return `: ${lastLine}\nits stderr ends with:\n${tail}`;
}
