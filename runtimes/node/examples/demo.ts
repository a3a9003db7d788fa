/**
 * The chatwire story in one command. Two Node clients in separate
 * processes chat through a server. The receiver goes offline, and the
 * sender's network goes dark while it queues messages. Then the sender is
 * killed with SIGKILL with those messages still in its outbox. Both come back, and the
 * demo checks that every message arrived exactly once, in the same order on
 * both sides.
 *
 *   npm run demo                         # starts its own server
 *   npm run demo -- --url http://127.0.0.1:8080   # a server started with --dev
 *
 * Exits 0 when the verdict holds, 1 when it does not, 2 on a setup error.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { judge, printTranscript } from "./demo-verdict.js";
import { readOutboxFile, serverLimits } from "./demo-support.js";
import { devTokenSource } from "./dev-tokens.js";
import { loadToolkit, type DemoHost, type DemoServer } from "./toolkit.js";

const USAGE = `usage: npm run demo -- [--url URL] [--timeout-ms MS] [--keep]

  --url URL         use a running chatwire server started with --dev (tokens
                    come from URL/dev/token); default: start one on a free port
  --timeout-ms MS   the longest any single step may wait, in ms (default 20000)
  --keep            keep the temporary folder with the clients' SQLite files`;

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    "timeout-ms": { type: "string", default: "20000" },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const stepTimeoutMs = Number(values["timeout-ms"]);
if (!Number.isInteger(stepTimeoutMs) || stepTimeoutMs <= 0) {
  console.error(`--timeout-ms is "${values["timeout-ms"]}"; give a positive whole number of milliseconds\n\n${USAGE}`);
  process.exit(2);
}

const QUEUED_WHILE_DARK = [
  "writing this in the tunnel, no signal at all",
  "second one from the tunnel: the outbox keeps it",
  "third: if the app dies now, these still go out",
];

function progress(line: string): void {
  console.log(`› ${line}`);
}

async function main(): Promise<boolean> {
  const toolkit = await loadToolkit();
  const workDir = await mkdtemp(join(tmpdir(), "chatwire-demo-"));
  let server: DemoServer | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    let baseUrl: string;
    let token: (userId: string) => Promise<string>;
    if (values.url) {
      baseUrl = values.url.replace(/\/+$/, "");
      token = devTokenSource(baseUrl);
      progress(`using the server at ${baseUrl} (development tokens from /dev/token)`);
    } else {
      progress("starting chatwire-server on a free port");
      server = await toolkit.startServerProcess({ dataDir: join(workDir, "server") });
      baseUrl = server.url;
      token = (userId) => server!.token(userId);
      progress(`server listening on ${baseUrl}`);
    }
    await token("alice"); // fails early, with the reason, when tokens are unavailable
    const limits = await serverLimits(baseUrl, await token("alice"));
    progress(`the server accepts messages up to ${limits.maxMessageBytes.toLocaleString("en-US")} bytes`);

    // Alice reaches the server through a proxy, so the demo can take her network away.
    const target = new URL(baseUrl);
    const proxy = await toolkit.startFaultProxy({
      target: { host: target.hostname, port: Number(target.port || 80) },
    });
    cleanups.push(() => proxy.close());
    const runtime = await toolkit.createNodeRuntime({
      storageDir: join(workDir, "clients"),
      onHostLog: (line) => console.error(`  (client log) ${line}`),
    });
    cleanups.push(() => runtime.close());

    const aliceOptions = {
      userId: "alice",
      baseUrl: proxy.url,
      storageName: "alice",
      getToken: () => token("alice"),
    };
    progress("starting alice and bob, each in its own process with its own SQLite file");
    let alice: DemoHost = await runtime.startHost(aliceOptions);
    const bob = await runtime.startHost({ userId: "bob", baseUrl, storageName: "bob", getToken: () => token("bob") });

    const conversationId = await alice.createDirect("bob");
    await bob.waitFor({ kind: "conversation", conversationId }, stepTimeoutMs);
    // A server given with --url may hold messages from earlier runs; the
    // check covers the messages after them.
    const baseline =
      (await alice.snapshot()).conversations.find((c) => c.conversationId === conversationId)?.lastSeq ?? 0;
    progress(
      `alice and bob share conversation ${conversationId}` +
        (baseline > 0 ? ` (it holds ${baseline} messages from earlier runs)` : ""),
    );

    const transcript = (await toolkit.loadTranscript()).filter((line) => line.conversation === "direct:alice-bob");
    const expected: { sender: string; text: string }[] = [];
    progress(`replaying ${transcript.length} messages of the direct conversation from the fixture`);
    for (const line of transcript) {
      const sender = line.sender === "alice" ? alice : bob;
      const { clientMessageId } = await sender.send(conversationId, line.text);
      // Waiting for each ack keeps the transcript's order across two senders.
      await sender.waitFor({ kind: "status", conversationId, clientMessageId, status: "sent" }, stepTimeoutMs);
      expected.push({ sender: line.sender, text: line.text });
    }
    const atLimit = toolkit.textOfBytes(limits.maxMessageBytes);
    const limitMessage = await alice.send(conversationId, atLimit);
    await alice.waitFor(
      { kind: "status", conversationId, clientMessageId: limitMessage.clientMessageId, status: "sent" },
      stepTimeoutMs,
    );
    expected.push({ sender: "alice", text: atLimit });
    progress(`alice sent a message of exactly ${limits.maxMessageBytes} bytes (emoji, € and é)`);

    progress("bob goes offline");
    await bob.setNetworkAvailable(false);
    await bob.waitFor({ kind: "connection", state: "offline" }, stepTimeoutMs);

    progress("alice's network goes dark (the proxy drops every byte) and she writes 3 messages");
    proxy.blackhole();
    proxy.cutAll();
    for (const text of QUEUED_WHILE_DARK) {
      await alice.send(conversationId, text);
      expected.push({ sender: "alice", text });
    }

    progress("alice's process is killed with SIGKILL");
    const exit = await alice.kill();
    progress(`alice exited by ${exit.signal ?? `code ${exit.code}`}`);

    const onDisk = await readOutboxFile(runtime.storagePath("alice"));
    progress(`alice's SQLite outbox holds ${onDisk.length} unsent messages after the kill:`);
    for (const entry of onDisk) progress(`    ${entry.clientMessageId}  ${JSON.stringify(entry.text)}`);
    if (onDisk.length !== QUEUED_WHILE_DARK.length) {
      throw new Error(
        `alice's outbox file holds ${onDisk.length} entries after the kill; expected ${QUEUED_WHILE_DARK.length}`,
      );
    }

    progress("alice's network returns and she restarts on the same SQLite file");
    proxy.reset();
    alice = await runtime.startHost(aliceOptions);
    await alice.waitFor({ kind: "outbox-drained" }, stepTimeoutMs);
    progress("alice's outbox drained");

    progress("bob comes back online and catches up");
    await bob.setNetworkAvailable(true);
    const total = baseline + expected.length;
    const bobState = await bob.waitFor({ kind: "stored", conversationId, count: total }, stepTimeoutMs);
    const aliceState = await alice.waitFor({ kind: "stored", conversationId, count: total }, stepTimeoutMs);

    const bobMessages = (bobState.stored[conversationId] ?? []).filter((message) => message.seq > baseline);
    const aliceMessages = (aliceState.stored[conversationId] ?? []).filter((message) => message.seq > baseline);
    printTranscript(bobMessages);
    const verdict = judge(expected, aliceMessages, bobMessages, onDisk.length);
    for (const line of verdict.lines) console.log(line);

    await alice.close();
    await bob.close();
    return verdict.pass;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await server?.stop();
    if (values.keep) progress(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

main().then(
  (pass) => process.exit(pass ? 0 : 1),
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
