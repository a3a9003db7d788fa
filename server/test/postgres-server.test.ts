import { afterAll, describe, expect, it } from "vitest";
import { runServerCommand } from "./support/command.js";
import { captureLogs } from "./support/logs.js";
import { adminQuery, testSchemas } from "./support/postgres.js";
import { startServer } from "../src/index.js";
import { LATEST_VERSION } from "../src/store/postgres/migrations.js";
import { directConversation, SECRET, send, startTestServer, tempDir } from "./support/server.js";
import { requireService, TEST_DATABASE_URL } from "./support/services.js";

const available = await requireService("PostgreSQL");
const schemas = testSchemas();
afterAll(() => schemas.dropAll());


describe.skipIf(!available)("server on PostgreSQL", () => {
  it("sends and syncs through PostgreSQL", async () => {
    const schema = schemas.next();
    const { logger, lines } = captureLogs();
    const withPassword = new URL(TEST_DATABASE_URL);
    withPassword.password = "not-logged";
    const test = await startTestServer({
      databaseUrl: withPassword.toString(),
      databaseSchema: schema,
      databasePoolMax: 3,
      logger,
    });
    try {
      const alice = await test.as("alice");
      const bob = await test.as("bob", "connect-h1");
      const id = await directConversation(alice, "bob");
      const sent = await send(alice, id, "stored in PostgreSQL");
      expect(sent.message?.seq).toBe(1n);

      const page = await bob.chat.sync({ deviceId: "phone" });
      const texts = page.events.flatMap((event) => (event.kind.case === "message" ? [event.kind.value.message?.text] : []));
      expect(texts).toEqual(["stored in PostgreSQL"]);
      const rows = await adminQuery<{ count: string }>(`SELECT count(*) AS count FROM ${schema}.messages`);
      expect(rows[0]?.count).toBe("1");

      const metrics = await (await fetch(`${test.url}/metrics`)).text();
      expect(metrics).toMatch(/^chatwire_postgres_pool_connections [1-3]$/m);
      expect(metrics).toMatch(/^chatwire_postgres_pool_idle_connections \d+$/m);
      expect(metrics).toMatch(/^chatwire_postgres_pool_waiting_clients 0$/m);

      const started = lines.find((line) => line.msg === "chatwire server listening");
      expect(started).toMatchObject({ store: "postgres", host: "127.0.0.1", database: "test", schema });
      expect(JSON.stringify(lines)).not.toContain("not-logged");
    } finally {
      await test.close();
    }
  });

  it("rejects a database URL that is not PostgreSQL", async () => {
    const dir = tempDir();
    try {
      await expect(
        startServer({ port: 0, dataDir: dir.path, jwtSecret: SECRET, databaseUrl: "mysql://secret@127.0.0.1/test" }),
      ).rejects.toThrow("databaseUrl is not a PostgreSQL URL; use postgres://user:password@host:5432/database");
    } finally {
      dir.remove();
    }
  });

  describe("chatwire-server migrate", () => {
    const run = runServerCommand;

    it("applies the schema and exits 0", async () => {
      const schema = schemas.next();
      const first = run(["migrate", "--database-url", TEST_DATABASE_URL, "--database-schema", schema]);
      expect(await first.exited, first.output()).toBe(0);
      expect(first.output()).toContain("applied PostgreSQL schema migrations");
      const versions = await adminQuery<{ version: number }>(
        `SELECT version FROM ${schema}.schema_migrations ORDER BY version`,
      );
      expect(versions.map((row) => row.version)).toEqual(Array.from({ length: LATEST_VERSION }, (_, index) => index + 1));

      const again = run(["migrate", "--database-schema", schema], { CHATWIRE_DATABASE_URL: TEST_DATABASE_URL });
      expect(await again.exited, again.output()).toBe(0);
      expect(again.output()).toContain("PostgreSQL schema was already current");
    });

    it("exits 2 without a database URL", async () => {
      const missing = run(["migrate"], { CHATWIRE_DATABASE_URL: "" });
      expect(await missing.exited).toBe(2);
      expect(missing.output()).toContain("migrate needs --database-url");
    });

    it("exits 1 when the database is unreachable", async () => {
      const down = run(["migrate", "--database-url", "postgres://postgres@127.0.0.1:1/test", "--database-schema", schemas.next()]);
      expect(await down.exited).toBe(1);
      expect(down.output()).toContain("PostgreSQL migration failed");
      expect(down.output()).toContain("ECONNREFUSED");
    });

    it("documents the database flags in --help", async () => {
      const help = run(["--help"]);
      expect(await help.exited).toBe(0);
      for (const text of [
        "chatwire-server migrate --database-url",
        "--database-url <url>   (env CHATWIRE_DATABASE_URL)",
        "--database-pool-max <n>   (env CHATWIRE_DATABASE_POOL_MAX)",
        "--database-schema <name>   (env CHATWIRE_DATABASE_SCHEMA)",
      ]) {
        expect(help.output()).toContain(text);
      }
    });
  });
});

// These checks run before any connection, so they need no PostgreSQL.
describe("chatwire-server database flags", () => {
  const base = ["--port", "0", "--jwt-secret", SECRET, "--log-level", "silent"];

  it("exits 2 on a database URL that is not PostgreSQL", async () => {
    const wrong = runServerCommand([...base, "--database-url", "mysql://user:hidden@127.0.0.1/test"]);
    expect(await wrong.exited, wrong.output()).toBe(2);
    expect(wrong.output()).toContain("--database-url (CHATWIRE_DATABASE_URL) is not a PostgreSQL URL");
    expect(wrong.output()).not.toContain("hidden");
  });

  it("exits 2 on an invalid schema name", async () => {
    const fromFlag = runServerCommand([...base, "--database-url", TEST_DATABASE_URL, "--database-schema", "Bad-Schema"]);
    expect(await fromFlag.exited, fromFlag.output()).toBe(2);
    expect(fromFlag.output()).toContain('--database-schema (CHATWIRE_DATABASE_SCHEMA) is "Bad-Schema"; use 1 to 63 characters');

    const fromEnvironment = runServerCommand([...base, "--database-url", TEST_DATABASE_URL], {
      CHATWIRE_DATABASE_SCHEMA: "1abc",
    });
    expect(await fromEnvironment.exited, fromEnvironment.output()).toBe(2);
    expect(fromEnvironment.output()).toContain('is "1abc"; use 1 to 63 characters');
  });
});
