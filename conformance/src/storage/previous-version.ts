import type { ChatStorage, ConversationRecord, MessageRecord, MetaKey, OutboxEntry } from "@chatwire/sdk-core";
import { sampleConversation, sampleMessage, sampleOutboxEntry } from "./samples.js";

/** Records the migration tests write through an adapter's previous schema version. */
export interface PreviousVersionData {
  meta: Partial<Record<MetaKey, string>>;
  conversations: ConversationRecord[];
  messages: MessageRecord[];
  /** Outbox entries in the order they were added. */
  outbox: OutboxEntry[];
}

/**
 * A database at an adapter's previous schema version, written by the
 * adapter's test code the way that version wrote it (its frozen schema and
 * row format), and opened with the current code.
 */
export interface PreviousVersionDatabase {
  /** Creates the database at the previous schema version and writes `data` into it. */
  create(data: PreviousVersionData): Promise<void>;
  /** Opens the database with the current code, which migrates it to the current schema version. */
  open(): Promise<ChatStorage>;
  /**
   * Opens the database with the current code while a fault makes the
   * migration fail after it has changed the schema, then removes the fault.
   * Rejects with the migration's error, and resolves only when the migration
   * did not fail.
   */
  openWithFailingMigration(): Promise<ChatStorage>;
  /** Returns the schema version the database is at, read without migrating it. */
  schemaVersion(): Promise<number>;
  /** Returns the database's schema and every stored value, read without migrating it, for comparisons. */
  dump(): Promise<unknown>;
}

/**
 * Data for the migration tests: two conversations (one the user was removed
 * from), messages with hard text, and an outbox whose order matches neither
 * its ids nor its times, with failure fields with and without a reason.
 */
export function previousVersionData(): PreviousVersionData {
  return {
    meta: { userId: "alice", deviceId: "device-1", cursor: "c-42", position: "42" },
    conversations: [
      sampleConversation("group:launch", { updatedAt: 1_750_000_009_000, unreadCount: 2 }),
      sampleConversation("direct:alice-bob", {
        kind: "direct",
        title: "",
        removed: true,
        lastSeq: 1,
        unreadCount: 0,
        members: [{ userId: "alice", deliveredSeq: 1, readSeq: 1, joinedAfterSeq: 0 }],
        updatedAt: 1_750_000_001_000,
      }),
    ],
    messages: [
      sampleMessage("group:launch", 1),
      sampleMessage("group:launch", 2, { text: "Zoe\u0301 says hi 👋🏽" }),
      sampleMessage("group:launch", 3, { text: "مرحبا\nsecond line\twith a tab" }),
      sampleMessage("direct:alice-bob", 1),
    ],
    outbox: [
      sampleOutboxEntry("id-c", { createdAt: 1_750_000_005_000 }),
      sampleOutboxEntry("id-a", {
        createdAt: 1_750_000_003_000,
        state: "failed",
        attempts: 3,
        failure: { code: "invalid_argument", message: "text is 4,097 bytes; the limit is 4,096", reason: "TEXT_TOO_LONG" },
      }),
      sampleOutboxEntry("id-d", {
        conversationId: "direct:alice-bob",
        createdAt: 1_750_000_004_000,
        state: "failed",
        attempts: 1,
        failure: { code: "permission_denied", message: "not a member" },
      }),
      sampleOutboxEntry("id-b", { createdAt: 1_750_000_006_000, attempts: 2 }),
    ],
  };
}
