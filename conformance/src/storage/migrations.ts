import { describe, expect, it, type TestContext } from "vitest";
import type { ChatStorage } from "@chatwire/sdk-core";
import type { StorageHarness } from "./harness.js";
import { previousVersionData, type PreviousVersionData, type PreviousVersionDatabase } from "./previous-version.js";
import { sampleOutboxEntry } from "./samples.js";
import { sortMarks, takeSnapshot, type StorageSnapshot } from "./snapshot.js";

/** Returns the snapshot the current code must read from a database holding `data`. */
function expectedSnapshot(data: PreviousVersionData): StorageSnapshot {
  const messages: Record<string, PreviousVersionData["messages"]> = {};
  for (const conversation of data.conversations) {
    messages[conversation.conversationId] = data.messages
      .filter((message) => message.conversationId === conversation.conversationId)
      .sort((a, b) => a.seq - b.seq);
  }
  return {
    meta: data.meta,
    // The contract lists conversations newest first; the data has them in that order.
    conversations: data.conversations,
    messages,
    outbox: data.outbox,
    pendingReadMarks: [],
  };
}

function previousOrSkip(h: StorageHarness, context: TestContext): PreviousVersionDatabase {
  const previous = h.previousVersion;
  if (previous === undefined) context.skip("this adapter keeps nothing across instances, so it has no previous schema version");
  return previous!;
}

/** Runs the adapter's failing migration. A storage that opened anyway is closed, so the test reports the failure without leaking it. */
function openWithFailingMigration(previous: PreviousVersionDatabase): Promise<ChatStorage> {
  const attempt = previous.openWithFailingMigration();
  void attempt.then(
    (storage) => storage.close(),
    () => undefined,
  );
  return attempt;
}

export function describeMigrations(h: StorageHarness): void {
  describe("migrations from the previous schema version", () => {
    const data = previousVersionData();
    const conversationIds = data.conversations.map((conversation) => conversation.conversationId);

    it("keep every record the previous version wrote", async (context) => {
      const previous = previousOrSkip(h, context);
      await previous.create(data);

      await h.openPreviousVersion();

      expect(await takeSnapshot(h, conversationIds)).toStrictEqual(expectedSnapshot(data));
    });

    it("move the schema version forward", async (context) => {
      const previous = previousOrSkip(h, context);
      await previous.create(data);
      const before = await previous.schemaVersion();

      await h.openPreviousVersion();
      await h.close();

      expect(await previous.schemaVersion()).toBeGreaterThan(before);
    });

    it("continue the outbox after the old entries", async (context) => {
      const previous = previousOrSkip(h, context);
      await previous.create(data);
      await h.openPreviousVersion();

      await h.write((tx) => tx.addOutbox(sampleOutboxEntry("id-new")));

      const ids = (await h.read((tx) => tx.listOutbox())).map((entry) => entry.clientMessageId);
      expect(ids).toEqual([...data.outbox.map((entry) => entry.clientMessageId), "id-new"]);
    });

    it("store pending read marks in the migrated database", async (context) => {
      const previous = previousOrSkip(h, context);
      await previous.create(data);
      await h.openPreviousVersion();
      const launch = data.conversations[0]!;

      await h.write(async (tx) => {
        await tx.putConversation({ ...launch, unreadCount: 0 });
        await tx.putPendingReadMark({ conversationId: launch.conversationId, readSeq: launch.lastSeq });
        await tx.putPendingReadMark({ conversationId: launch.conversationId, readSeq: 1 });
      });
      await h.reopen();

      const marks = sortMarks(await h.read((tx) => tx.listPendingReadMarks()));
      expect(marks).toStrictEqual([{ conversationId: launch.conversationId, readSeq: launch.lastSeq }]);
      expect((await h.read((tx) => tx.getConversation(launch.conversationId)))?.unreadCount).toBe(0);
      expect(await h.write((tx) => tx.deletePendingReadMark(launch.conversationId, launch.lastSeq))).toBe(true);
      expect(await h.read((tx) => tx.listPendingReadMarks())).toEqual([]);
    });

    it("leave the database unchanged when one fails midway", async (context) => {
      const previous = previousOrSkip(h, context);
      await previous.create(data);
      const version = await previous.schemaVersion();
      const dump = await previous.dump();

      await expect(openWithFailingMigration(previous)).rejects.toThrow();

      expect(await previous.schemaVersion()).toBe(version);
      expect(await previous.dump()).toStrictEqual(dump);
    });

    it("open the database after a failed one", async (context) => {
      const previous = previousOrSkip(h, context);
      await previous.create(data);
      await expect(openWithFailingMigration(previous)).rejects.toThrow();

      await h.openPreviousVersion();

      expect(await takeSnapshot(h, conversationIds)).toStrictEqual(expectedSnapshot(data));
      await h.write((tx) => tx.putPendingReadMark({ conversationId: "group:launch", readSeq: 2 }));
      expect(await h.read((tx) => tx.listPendingReadMarks())).toStrictEqual([
        { conversationId: "group:launch", readSeq: 2 },
      ]);
    });
  });
}
