import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";
import { Client } from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from "../src/store/postgres/postgres-store.js";
import type { Store } from "../src/store/types.js";
import { expectConnectError } from "./support/errors.js";
import { captureLogs } from "./support/logs.js";
import { createGroup, sendText } from "./support/store.js";
import { terminateBackends, testName, testSchemas } from "./support/postgres.js";
import { requireService, TEST_DATABASE_URL } from "./support/services.js";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.js";

const available = await requireService("PostgreSQL");
const schemas = testSchemas();
afterAll(() => schemas.dropAll());

describe.skipIf(!available)("PostgreSQL store failures", () => {
  const open: Store[] = [];
  const clients: Client[] = [];
  const proxies: TcpProxy[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.end().catch(() => undefined);
    await Promise.all(open.splice(0).map((store) => store.close()));
    for (const proxy of proxies.splice(0)) await proxy.stop();
  });

  /** Connects as the test's application_name and begins a transaction that holds the test's locks. */
  async function beginLocker(): Promise<Client> {
    const client = new Client({ connectionString: TEST_DATABASE_URL, application_name: testName() });
    await client.connect();
    clients.push(client);
    await client.query("BEGIN");
    return client;
  }

  async function openStore(options: Partial<PostgresStoreOptions> = {}): Promise<{ store: PostgresStore; schema: string }> {
    const schema = schemas.next();
    const store = await openPostgresStore({
      connectionString: TEST_DATABASE_URL,
      schema,
      applicationName: schema,
      pool: { max: 4 },
      ...options,
    });
    open.push(store);
    return { store, schema };
  }

  it("rejects a call whose backend is terminated", async () => {
    const { logger, lines } = captureLogs();
    const { store, schema } = await openStore({ logger });
    const id = await createGroup(store, "alice", ["bob"]);
    const locker = await beginLocker();
    await locker.query(`SELECT 1 FROM ${schema}.conversations WHERE conversation_id = $1 FOR UPDATE`, [id]);

    // The send waits for the row lock inside its transaction until its backend is gone.
    const blocked = expectConnectError(sendText(store, "alice", id, "lost in flight"), Code.Unavailable);
    await waitForLockWait(schema);
    expect(await terminateBackends(schema)).toBeGreaterThan(0);
    const { error } = await blocked;
    expect(error.message).toMatch(/^\[unavailable\] the database is unavailable: /);
    expect(error.message).toMatch(/retry with backoff$/);
    await locker.query("ROLLBACK");

    const after = await sendText(store, "alice", id, "after");
    expect(after.message.seq).toBe(1n);
    const logged = lines.filter((line) => line.msg === "PostgreSQL call failed; rejected with unavailable");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ operation: "sendMessage", userId: "alice", conversationId: id });
  });

  it("loses nothing committed while backends are terminated", async () => {
    const { store, schema } = await openStore();
    const senders = ["s0", "s1", "s2", "s3"];
    const [first, ...others] = senders as [string, ...string[]];
    const id = await createGroup(store, first, others);

    let sending = true;
    let terminated = 0;
    const terminator = (async () => {
      while (sending) {
        terminated += await terminateBackends(schema);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const outcomes = await Promise.all(
      senders.map(async (sender) => {
        const results: Array<{ ok: true; messageId: string } | { ok: false; error: unknown }> = [];
        for (let count = 0; count < 40; count++) {
          try {
            const result = await sendText(store, sender, id, `${sender} ${count}`);
            results.push({ ok: true, messageId: result.message.messageId });
          } catch (error) {
            results.push({ ok: false, error });
          }
        }
        return results;
      }),
    );
    sending = false;
    await terminator;
    expect(terminated).toBeGreaterThan(0);

    const failures = outcomes.flat().flatMap((outcome) => (outcome.ok ? [] : [outcome.error]));
    expect(failures.length).toBeGreaterThan(0);
    for (const error of failures) {
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code, (error as Error).message).toBe(Code.Unavailable);
    }
    await sendText(store, first, id, "after the terminations");

    const lastSeq = Number((await store.getConversation(first, id)).lastSeq);
    const history = await store.getHistory(first, id, { beforeSeq: 0, limit: 1000 });
    expect(history.messages.map((message) => Number(message.seq))).toEqual(
      Array.from({ length: lastSeq }, (_, index) => index + 1),
    );
    const stored = new Set(history.messages.map((message) => message.messageId));
    for (const outcome of outcomes.flat()) if (outcome.ok) expect(stored.has(outcome.messageId)).toBe(true);
    for (const member of senders) {
      const events = await store.readEvents(member, 0, 10_000);
      expect(events.map((event) => Number(event.position))).toEqual(
        Array.from({ length: events.length }, (_, index) => index + 1),
      );
      expect(events.filter((event) => event.kind.case === "message")).toHaveLength(lastSeq);
    }
  });

  it("rejects with unavailable when the pool stays busy", async () => {
    const { logger, lines } = captureLogs();
    const { store, schema } = await openStore({ pool: { max: 1, connectionTimeoutMs: 300 }, logger });
    const locker = await beginLocker();
    await locker.query(`LOCK TABLE ${schema}.user_logs IN ACCESS EXCLUSIVE MODE`);

    // The first call takes the pool's only connection and waits for the table lock.
    const holding = store.logBounds("alice");
    await waitForLockWait(schema);
    const { error } = await expectConnectError(store.logBounds("bob"), Code.Unavailable);
    expect(error.message).toContain("no connection of the pool (at most 1) became free within 300 ms");
    const logged = lines.find((line) => line.msg === "PostgreSQL call failed; rejected with unavailable");
    expect(logged).toMatchObject({ operation: "logBounds", userId: "bob" });

    await locker.query("ROLLBACK");
    expect(await holding).toEqual({ head: 0, prunedThrough: 0 });
    expect(await store.logBounds("bob")).toEqual({ head: 0, prunedThrough: 0 });
    expect(store.poolStats().waiting).toBe(0);
  });

  it("rejects with unavailable after the statement timeout", async () => {
    const { store, schema } = await openStore({ statementTimeoutMs: 200 });
    const locker = await beginLocker();
    await locker.query(`LOCK TABLE ${schema}.user_logs IN ACCESS EXCLUSIVE MODE`);

    const { error } = await expectConnectError(store.logBounds("alice"), Code.Unavailable);
    expect(error.message).toContain("a statement was canceled (57014: canceling statement due to statement timeout)");
    await locker.query("ROLLBACK");
    expect(await store.logBounds("alice")).toEqual({ head: 0, prunedThrough: 0 });
  });

  it("runs a write again after a deadlock", async () => {
    const { logger, lines } = captureLogs();
    const { store, schema } = await openStore({ logger });
    const id = await createGroup(store, "alice", ["bob"]);
    const locker = await beginLocker();
    await locker.query(`SELECT 1 FROM ${schema}.user_logs WHERE user_id = 'bob' FOR UPDATE`);

    // The send locks the conversation row, then waits for bob's log head.
    // Taking the conversation row here closes the cycle. The send's backend
    // waited first, so its deadlock check (after deadlock_timeout, 1 s by
    // default) runs first and aborts the send.
    const sending = sendText(store, "alice", id, "after a deadlock");
    await waitForLockWait(schema);
    await locker.query(`SELECT 1 FROM ${schema}.conversations WHERE conversation_id = $1 FOR UPDATE`, [id]);
    await locker.query("ROLLBACK");

    const sent = await sending;
    expect(sent.message.seq).toBe(1n);
    const retried = lines.filter((line) => line.msg === "PostgreSQL transaction conflicted with a concurrent one; running it again");
    expect(retried).toHaveLength(1);
    expect(retried[0]).toMatchObject({ operation: "sendMessage", sqlState: "40P01", attempt: 1 });
    expect((await store.readEvents("bob", 0, 10)).map((event) => Number(event.position))).toEqual([1, 2]);
  });

  it("recovers by itself after the database was down", async () => {
    const target = new URL(TEST_DATABASE_URL);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    proxies.push(proxy);
    const throughProxy = new URL(TEST_DATABASE_URL);
    throughProxy.hostname = "127.0.0.1";
    throughProxy.port = String(proxy.port);
    const { store } = await openStore({
      connectionString: throughProxy.toString(),
      pool: { max: 2, connectionTimeoutMs: 2000 },
    });
    const id = await createGroup(store, "alice", ["bob"]);
    await sendText(store, "alice", id, "before");

    await proxy.stop();
    const lost = await expectConnectError(sendText(store, "alice", id, "while down"), Code.Unavailable);
    expect(lost.error.message).toMatch(/the database is unavailable: /);
    const refused = await expectConnectError(store.logBounds("bob"), Code.Unavailable);
    expect(refused.error.message).toMatch(/ECONNREFUSED|closed the connection|broke/);

    await proxy.start();
    const after = await sendText(store, "alice", id, "after");
    expect(after.message.seq).toBe(2n);
    const history = await store.getHistory("bob", id, { beforeSeq: 0, limit: 10 });
    expect(history.messages.map((message) => message.text)).toEqual(["before", "after"]);
    await expectConnectError(store.getConversation("mallory", id), Code.NotFound, ErrorReason.CONVERSATION_NOT_FOUND);
  });

  it("logs a broken idle connection without its client", async () => {
    const target = new URL(TEST_DATABASE_URL);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    proxies.push(proxy);
    const throughProxy = new URL(TEST_DATABASE_URL);
    throughProxy.hostname = "127.0.0.1";
    throughProxy.port = String(proxy.port);
    const { logger, lines } = captureLogs();
    const { store } = await openStore({ connectionString: throughProxy.toString(), logger });
    await createGroup(store, "alice", ["bob"]);

    // The connection is idle in the pool when the proxy closes it.
    await proxy.stop();
    const message = "an idle PostgreSQL connection failed; the pool closed it and opens a new one when needed";
    for (let attempt = 0; attempt < 200 && !lines.some((line) => line.msg === message); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const warning = lines.find((line) => line.msg === message);
    expect(warning, JSON.stringify(lines)).toBeDefined();
    const err = warning?.err as Record<string, unknown>;
    expect(err.message).toMatch(/ECONNRESET|terminated|closed/);
    expect(err).not.toHaveProperty("client");
    expect(JSON.stringify(warning)).not.toContain("secretKey");
  });
});

/** Waits until a backend of the store named `applicationName` waits for a lock. */
async function waitForLockWait(applicationName: string): Promise<void> {
  const client = new Client({ connectionString: TEST_DATABASE_URL, application_name: testName() });
  await client.connect();
  try {
    for (let attempt = 0; attempt < 500; attempt++) {
      const result = await client.query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [applicationName],
      );
      if ((result.rowCount ?? 0) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no backend of ${applicationName} waited for a lock within 5 s`);
  } finally {
    await client.end();
  }
}
