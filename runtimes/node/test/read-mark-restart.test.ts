import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { ChatService, ConversationKind, ConversationService } from "@chatwire/gen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeChatClient, createNodeTransport, openSqliteStorage } from "../src/index.js";
import { useTempFiles } from "./helpers.js";
import { runUntilThenKill } from "./kill-child.js";
import { startDevServer, type DevServer } from "./server-process.js";

const tempFile = useTempFiles();
const script = fileURLToPath(new URL("./fixtures/read-offline-then-hang.ts", import.meta.url));

let server: DevServer;
beforeAll(async () => {
  server = await startDevServer();
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

/** Creates a group of alice and bob on the server with three messages from alice, and returns its id. */
async function groupWithThreeMessages(aliceToken: string): Promise<string> {
  const transport = createNodeTransport({ baseUrl: server.url, idleConnectionTimeoutMs: 200 });
  const headers = { authorization: `Bearer ${aliceToken}` };
  const conversations = createClient(ConversationService, transport);
  const chat = createClient(ChatService, transport);

  const created = await conversations.createConversation(
    { kind: ConversationKind.GROUP, memberIds: ["bob"], title: "restart" },
    { headers },
  );
  const conversationId = created.conversation!.conversationId;
  for (let n = 1; n <= 3; n++) {
    await chat.sendMessage(
      { conversationId, clientMessageId: `0190f000-0000-7000-8000-00000000000${n}`, text: `m${n}`, deviceId: "alice-laptop" },
      { headers },
    );
  }
  return conversationId;
}

/** Returns bob's read mark as alice's GetConversation reports it. */
async function bobReadSeqOnServer(aliceToken: string, conversationId: string): Promise<number> {
  const transport = createNodeTransport({ baseUrl: server.url, idleConnectionTimeoutMs: 200 });
  const response = await createClient(ConversationService, transport).getConversation(
    { conversationId },
    { headers: { authorization: `Bearer ${aliceToken}` } },
  );
  const bob = response.conversation?.members.find((member) => member.userId === "bob");
  return Number(bob?.readSeq ?? -1n);
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes, and returns whether it did. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("read mark after a process kill", () => {
  it("is sent by the next client on the same file", { timeout: 60_000 }, async () => {
    const databasePath = await tempFile();
    const aliceToken = await server.token("alice");
    const bobToken = await server.token("bob");
    const conversationId = await groupWithThreeMessages(aliceToken);

    const signal = await runUntilThenKill(script, [server.url, databasePath, bobToken, conversationId], "read");

    expect(signal).toBe("SIGKILL");
    expect(await bobReadSeqOnServer(aliceToken, conversationId)).toBe(0);
    const stored = openSqliteStorage(databasePath);
    const pendingBefore = await stored.transaction("readonly", (tx) => tx.listPendingReadMarks());
    await stored.close();
    expect(pendingBefore).toEqual([{ conversationId, readSeq: 3 }]);

    const client = createNodeChatClient({
      baseUrl: server.url,
      databasePath,
      userId: "bob",
      getToken: async () => bobToken,
      transportOptions: { idleConnectionTimeoutMs: 200 },
    });
    // A second connection to the file reads what the client commits.
    const observer = openSqliteStorage(databasePath);
    try {
      await client.start();

      const sent = await eventually(async () => (await bobReadSeqOnServer(aliceToken, conversationId)) === 3);
      const cleared = await eventually(async () =>
        (await observer.transaction("readonly", (tx) => tx.listPendingReadMarks())).length === 0,
      );

      expect(sent, "bob's read mark on the server").toBe(true);
      expect(cleared, "pending read marks deleted after the acknowledgement").toBe(true);
    } finally {
      await client.close();
      await observer.close();
    }
  });
});
