/**
 * The external services some tests need: PostgreSQL and Redis on this
 * machine. A test file checks for one with `await requireService(...)` at its
 * top level and wraps its suite in `describe.skipIf(!available)`.
 *
 * Where a service is unreachable the file's tests are skipped with one
 * printed line, so `npm test` works on a laptop without them. With
 * CHATWIRE_REQUIRE_SERVICES=1 (set by .ci/run) an unreachable service
 * fails the file instead.
 */
import { connect } from "node:net";

/** The database the PostgreSQL tests use; each test works in a schema of its own. */
export const TEST_DATABASE_URL = process.env.CHATWIRE_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** The shared Redis the tests publish on. Tests never stop it; restart tests start their own. */
export const TEST_REDIS_URL = process.env.CHATWIRE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export type ServiceName = "PostgreSQL" | "Redis";

const PROBE_TIMEOUT_MS = 2_000;

/**
 * Resolves true when the service accepts a TCP connection. Otherwise prints
 * why its tests are skipped and resolves false, or, with
 * CHATWIRE_REQUIRE_SERVICES=1, rejects.
 */
export async function requireService(name: ServiceName): Promise<boolean> {
  const url = new URL(name === "PostgreSQL" ? TEST_DATABASE_URL : TEST_REDIS_URL);
  const port = Number(url.port || (name === "PostgreSQL" ? 5432 : 6379));
  const failure = await probe(url.hostname, port);
  if (failure === undefined) return true;
  const what = `${name} at ${url.hostname}:${port} is not reachable (${failure})`;
  if (process.env.CHATWIRE_REQUIRE_SERVICES === "1") {
    throw new Error(`${what}, and CHATWIRE_REQUIRE_SERVICES=1 makes that a failure`);
  }
  console.log(`skipped: ${what}; its tests do not run here`);
  return false;
}

function probe(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (failure: string | undefined) => {
      socket.destroy();
      resolve(failure);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(`no answer within ${PROBE_TIMEOUT_MS} ms`));
    socket.once("connect", () => done(undefined));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}
