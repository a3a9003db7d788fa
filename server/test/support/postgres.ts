/**
 * Schemas of their own for PostgreSQL tests. Every schema a test creates is
 * named chatwire_test_<random>, and only those are dropped. Connections
 * carry an application_name of the same form, so a test can terminate its
 * own backends and no others.
 */
import { randomBytes } from "node:crypto";
import { Client, escapeIdentifier } from "pg";
import { TEST_DATABASE_URL } from "./services.js";

/** Creates a fresh name of the form chatwire_test_<16 hex digits>, for a schema or an application_name. */
export function testName(): string {
  return `chatwire_test_${randomBytes(8).toString("hex")}`;
}

/** Runs one statement on a connection of its own, for checks and set-up outside the store. */
export async function adminQuery<Row>(text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new Client({ connectionString: TEST_DATABASE_URL, application_name: "chatwire_test_admin" });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** Drops schemas this test run created, and rejects any other name. */
export async function dropTestSchemas(schemas: Iterable<string>): Promise<void> {
  for (const schema of schemas) {
    if (!/^chatwire_test_[0-9a-f]{16}$/.test(schema)) throw new Error(`schema ${schema} is not a test schema; only chatwire_test_<16 hex digits> are dropped`);
    await adminQuery(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`);
  }
}

/** Terminates the backends whose application_name is `applicationName`; returns how many. */
export async function terminateBackends(applicationName: string): Promise<number> {
  if (!applicationName.startsWith("chatwire_test_")) throw new Error(`application_name ${applicationName} is not a test name; only chatwire_test_* backends are terminated`);
  const rows = await adminQuery<{ terminated: boolean }>(
    "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
    [applicationName],
  );
  return rows.filter((row) => row.terminated).length;
}

/** Hands out fresh schema names and drops every one handed out. */
export function testSchemas(): { next(): string; dropAll(): Promise<void> } {
  const names = new Set<string>();
  return {
    next() {
      const schema = testName();
      names.add(schema);
      return schema;
    },
    dropAll: () => dropTestSchemas(names),
  };
}
