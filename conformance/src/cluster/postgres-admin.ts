/**
 * The PostgreSQL side of test clusters. Each cluster gets a schema of its own,
 * named `chatwire_test_<random>`, and the same name as the application_name of
 * every connection its servers open. A test can then drop its schema and
 * terminate its servers' connections without touching anyone else's.
 */
import { randomBytes } from "node:crypto";

import { Client, escapeIdentifier } from "pg";

/** Prefix of every schema a test cluster creates; only schemas with it are ever dropped. */
export const TEST_SCHEMA_PREFIX = "chatwire_test_";

const TEST_SCHEMA = /^chatwire_test_[a-z0-9_]{1,48}$/;

/** Returns a new schema name, `chatwire_test_` and 16 random hex digits, also used as the application_name. */
export function newTestSchemaName(): string {
  return `${TEST_SCHEMA_PREFIX}${randomBytes(8).toString("hex")}`;
}

/**
 * Returns `databaseUrl` with `application_name` set in its query. node-postgres
 * (pg 8) gives settings in the connection string precedence over its
 * options, so every connection a server opens with this URL carries the name.
 */
export function withApplicationName(databaseUrl: string, applicationName: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set("application_name", applicationName);
  return url.toString();
}

/** Runs `work` on one short-lived connection named `chatwire-test-admin`. */
async function withClient<T>(databaseUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl, application_name: "chatwire-test-admin", connectionTimeoutMillis: 5_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Returns undefined when PostgreSQL at `databaseUrl` runs a query, or the
 * reason it does not.
 */
export async function checkPostgres(databaseUrl: string): Promise<string | undefined> {
  try {
    await withClient(databaseUrl, (client) => client.query("SELECT 1"));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Drops a test schema and everything in it. Throws for a name without the test prefix. */
export async function dropTestSchema(databaseUrl: string, schema: string): Promise<void> {
  if (!TEST_SCHEMA.test(schema)) {
    throw new Error(`schema ${JSON.stringify(schema)} is not a test schema (${TEST_SCHEMA_PREFIX}<random>); it is not dropped`);
  }
  await withClient(databaseUrl, (client) => client.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`));
}

/**
 * Terminates every backend whose application_name is `applicationName`
 * (which must carry the test prefix) and returns how many were terminated.
 */
export async function terminateBackends(databaseUrl: string, applicationName: string): Promise<number> {
  if (!TEST_SCHEMA.test(applicationName)) {
    throw new Error(
      `application_name ${JSON.stringify(applicationName)} does not carry the test prefix ${TEST_SCHEMA_PREFIX}; no backend is terminated`,
    );
  }
  return withClient(databaseUrl, async (client) => {
    const result = await client.query<{ terminated: boolean }>(
      "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
      [applicationName],
    );
    return result.rows.filter((row) => row.terminated).length;
  });
}

/** Returns the process ids of the backends with `applicationName`, for per-process CPU figures. */
export async function listBackendPids(databaseUrl: string, applicationName: string): Promise<number[]> {
  return withClient(databaseUrl, async (client) => {
    const result = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid",
      [applicationName],
    );
    return result.rows.map((row) => row.pid);
  });
}

/** Returns how many backends with `applicationName` are connected now. */
export async function countBackends(databaseUrl: string, applicationName: string): Promise<number> {
  return withClient(databaseUrl, async (client) => {
    const result = await client.query<{ count: string }>(
      "SELECT count(*) AS count FROM pg_stat_activity WHERE application_name = $1",
      [applicationName],
    );
    return Number(result.rows[0]?.count ?? 0);
  });
}
