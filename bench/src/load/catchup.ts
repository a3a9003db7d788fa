// Load generator for the catch-up benchmark. It starts a Node SDK client for
// a receiver whose log already contains the messages, and times how long the
// client takes until its stored position is at the end of the log. Then it
// checks that every message is in the client's SQLite storage. Runs as a
// child of bench/dist/src/run.js.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { createChatClient, type ChatStorage } from "@chatwire/sdk-core";
import { createNodeTransport, openSqliteStorage } from "@chatwire/node";

import { monotonicMicros, type ProfileWindow } from "../profile/cpu-profile.js";
import { serveRunner } from "./channel.js";
import { startWindowProfiler } from "./window-profiler.js";

export interface CatchupConfig {
  baseUrl: string;
  userId: string;
  token: string;
  conversationIds: string[];
  messagesPerConversation: number;
  /** Position of the last seeded event in the receiver's log. */
  endPosition: number;
  timeoutMs: number;
  /** Path of a CPU profile of the timed stretch; no profile when unset. */
  profilePath?: string;
}

export interface CatchupResult {
  /** From client.start() until the stored position reaches endPosition, in ms. */
  elapsedMs: number;
  messagesApplied: number;
  /** The timed stretch on the monotonic clock, to select a server profile's samples. */
  window: ProfileWindow;
  /** Empty when storage contains every message, seqs 1..n in each conversation. */
  problems: string[];
}

serveRunner<CatchupConfig>(async (config): Promise<CatchupResult> => {
  const dir = await mkdtemp(join(tmpdir(), "chatwire-bench-catchup-"));
  const storage = openSqliteStorage(join(dir, "client.sqlite"));
  const client = createChatClient({
    transport: createNodeTransport({ baseUrl: config.baseUrl }),
    storage,
    userId: config.userId,
    getToken: async () => config.token,
  });

  let clientClosed = false;
  try {
    let messagesApplied = 0;
    let checking = false;
    let finishedAt: number | undefined;
    let markFinished: () => void = () => {};
    const finished = new Promise<void>((resolve) => (markFinished = resolve));
    const expected = config.conversationIds.length * config.messagesPerConversation;

    // The stored position is the one the client saves with its cursor in
    // the transaction that applies a page. It may pass endPosition, because
    // the client's own acknowledgements add receipt events to its log. The
    // check runs after events (the page's transaction has committed by then)
    // and on a 20 ms timer, for a last page that carries no message.
    const checkPosition = async () => {
      if (checking || finishedAt !== undefined || messagesApplied < expected) return;
      checking = true;
      const position = await storage.transaction("readonly", (tx) => tx.getMeta("position"));
      checking = false;
      if (Number(position ?? 0) >= config.endPosition && finishedAt === undefined) {
        finishedAt = performance.now();
        markFinished();
      }
    };
    client.onEvent((event) => {
      if (event.type === "message") messagesApplied++;
      void checkPosition();
    });
    const poll = setInterval(() => void checkPosition(), 20);

    const profiler = config.profilePath === undefined ? undefined : await startWindowProfiler(config.profilePath);
    const startedAt = performance.now();
    const startedAtUs = monotonicMicros();
    await client.start();
    const timeout = setTimeout(markFinished, config.timeoutMs);
    await finished;
    const window = { startUs: startedAtUs, endUs: monotonicMicros() };
    await profiler?.stopAndWrite();
    clearTimeout(timeout);
    clearInterval(poll);
    if (finishedAt === undefined) {
      throw new Error(
        `the client applied ${messagesApplied} of ${expected} messages and its stored position did not reach ${config.endPosition} within ${config.timeoutMs} ms`,
      );
    }

    await client.close();
    clientClosed = true;
    return {
      elapsedMs: finishedAt - startedAt,
      messagesApplied,
      window,
      problems: await checkStoredMessages(storage, config),
    };
  } finally {
    if (!clientClosed) await client.close();
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** Checks that storage contains seqs 1..n of every conversation. */
async function checkStoredMessages(storage: ChatStorage, config: CatchupConfig): Promise<string[]> {
  const problems: string[] = [];
  await storage.transaction("readonly", async (tx) => {
    for (const conversationId of config.conversationIds) {
      const stored = await tx.getMessages(conversationId, { afterSeq: 0, limit: config.messagesPerConversation + 1 });
      const gapAt = stored.findIndex((message, index) => message.seq !== index + 1);
      if (stored.length !== config.messagesPerConversation || gapAt >= 0) {
        problems.push(
          `conversation ${conversationId}: storage holds ${stored.length} messages` +
            (gapAt >= 0 ? `, seq ${stored[gapAt]?.seq} at index ${gapAt}` : "") +
            `, expected seqs 1 to ${config.messagesPerConversation}`,
        );
      }
    }
  });
  return problems;
}
