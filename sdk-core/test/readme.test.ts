import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createChatClient } from "../src/client.js";
import { createMemoryStorage } from "../src/storage/memory.js";
import type { ChatStorage } from "../src/storage/types.js";
import { FakeClock } from "./support/fake-clock.js";
import { FakeServer } from "./support/fake-server.js";

/** Returns the first TypeScript block of the README, without its import lines. */
function readmeExample(): string {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error("README.md has no ts code block");
  return block
    .split("\n")
    .filter((line) => !line.startsWith("import "))
    .join("\n");
}

describe("README usage example", () => {
  it("runs as written and keeps the message", async () => {
    const server = new FakeServer(new FakeClock());
    const conversationId = server.createConversation(["alice", "bob"]).id;
    const lines: string[] = [];
    const log = { log: (line: string) => void lines.push(line) };
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
      ...args: string[]
    ) => (...values: unknown[]) => Promise<void>;
    const example = new AsyncFunction(
      "createChatClient",
      "createMemoryStorage",
      "transport",
      "fetchTokenFromYourBackend",
      "conversationId",
      "console",
      readmeExample(),
    );

    const storages: ChatStorage[] = [];
    const recordStorage = () => {
      const storage = createMemoryStorage();
      storages.push(storage);
      return storage;
    };

    // The example runs on the real clock here: the in-memory server answers at once.
    await example(createChatClient, recordStorage, server.transport, async () => server.tokenFor("alice"), conversationId, log);

    expect(lines).toContain("closed -> connecting");
    expect(lines.at(-1)).toMatch(/ -> closed$/);
    // close() right after send() may stop the send; then the message waits in the outbox for the next start.
    const outbox = await storages[0]!.transaction("readonly", (tx) => tx.listOutbox());
    const sent = server.messages(conversationId).map((message) => message.text);
    expect([...sent, ...outbox.map((entry) => entry.text)]).toContain("hello 👋");
  });
});
