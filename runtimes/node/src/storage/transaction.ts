import type {
  ConversationRecord,
  MessageRange,
  MessageRecord,
  MetaKey,
  OutboxEntry,
  PendingReadMark,
  StorageTransaction,
  TransactionMode,
} from "@chatwire/sdk-core";
import {
  fromConversationRow,
  fromMessageRow,
  fromOutboxRow,
  fromPendingReadMarkRow,
  toConversationRow,
  toOutboxRow,
} from "./records.js";
import type { Statements } from "./statements.js";

/** The state one `StorageTransaction` shares with the code that opened it. */
export interface TransactionScope {
  readonly mode: TransactionMode;
  /** False once the transaction committed or rolled back. */
  active: boolean;
}

/**
 * Creates the operations of one SQLite transaction.
 *
 * better-sqlite3 is synchronous, so each operation runs to completion when it
 * is called and returns a promise that is already settled. Every method is
 * `async` only so that a failure becomes a rejection, as it would be with an
 * asynchronous engine. The caller has already run BEGIN and runs COMMIT or
 * ROLLBACK.
 */
export function createSqliteTransaction(
  statements: Statements,
  scope: TransactionScope,
): StorageTransaction {
  // A `tx` kept past its callback would otherwise read or write inside
  // whichever transaction runs next, so every call checks its own scope.
  const check = (operation: string, writes: boolean): void => {
    if (!scope.active) {
      throw new Error(
        `${operation}() was called on a storage transaction that already ended; ` +
          "use tx only inside its transaction callback and await every call before the callback returns",
      );
    }
    if (writes && scope.mode === "readonly") {
      throw new Error(
        `${operation}() writes, but this storage transaction is readonly; ` +
          'open it with transaction("readwrite", ...)',
      );
    }
  };

  return {
    async getMeta(key: MetaKey) {
      check("getMeta", false);
      return statements.getMeta.get(key)?.value;
    },
    async setMeta(key: MetaKey, value: string) {
      check("setMeta", true);
      statements.setMeta.run(key, value);
    },
    async deleteMeta(key: MetaKey) {
      check("deleteMeta", true);
      statements.deleteMeta.run(key);
    },

    async getConversation(conversationId: string) {
      check("getConversation", false);
      const row = statements.getConversation.get(conversationId);
      return row === undefined ? undefined : fromConversationRow(row);
    },
    async putConversation(record: ConversationRecord) {
      check("putConversation", true);
      statements.putConversation.run(toConversationRow(record));
    },
    async listConversations() {
      check("listConversations", false);
      return statements.listConversations.all().map(fromConversationRow);
    },

    async putMessages(records: readonly MessageRecord[]) {
      check("putMessages", true);
      const { putMessage } = statements;
      for (const record of records) {
        putMessage.run(
          record.conversationId,
          record.seq,
          record.messageId,
          record.senderId,
          record.senderDeviceId,
          record.clientMessageId,
          record.text,
          record.createdAt,
        );
      }
    },
    async getMessages(conversationId: string, range: MessageRange) {
      check("getMessages", false);
      return readMessages(statements, conversationId, range);
    },

    async addOutbox(entry: OutboxEntry) {
      check("addOutbox", true);
      try {
        statements.addOutbox.run(toOutboxRow(entry));
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new Error(
            `the outbox already has an entry with clientMessageId "${entry.clientMessageId}"; ` +
              "change it with updateOutbox() or give the new message its own clientMessageId",
            { cause: error },
          );
        }
        throw error;
      }
    },
    async getOutbox(clientMessageId: string) {
      check("getOutbox", false);
      const row = statements.getOutbox.get(clientMessageId);
      return row === undefined ? undefined : fromOutboxRow(row);
    },
    async listOutbox(conversationId?: string) {
      check("listOutbox", false);
      const rows =
        conversationId === undefined
          ? statements.listOutbox.all()
          : statements.listOutboxOf.all(conversationId);
      return rows.map(fromOutboxRow);
    },
    async updateOutbox(entry: OutboxEntry) {
      check("updateOutbox", true);
      const result = statements.updateOutbox.run(toOutboxRow(entry));
      if (result.changes === 0) {
        throw new Error(
          `the outbox has no entry with clientMessageId "${entry.clientMessageId}" to update; ` +
            "add it with addOutbox() first",
        );
      }
    },
    async deleteOutbox(clientMessageId: string) {
      check("deleteOutbox", true);
      return statements.deleteOutbox.run(clientMessageId).changes > 0;
    },

    async putPendingReadMark(mark: PendingReadMark) {
      check("putPendingReadMark", true);
      statements.putPendingReadMark.run(mark.conversationId, mark.readSeq);
    },
    async listPendingReadMarks() {
      check("listPendingReadMarks", false);
      return statements.listPendingReadMarks.all().map(fromPendingReadMarkRow);
    },
    async deletePendingReadMark(conversationId: string, acknowledgedSeq: number) {
      check("deletePendingReadMark", true);
      return statements.deletePendingReadMark.run(conversationId, acknowledgedSeq).changes > 0;
    },

    async clearSyncedState() {
      check("clearSyncedState", true);
      statements.deleteConversations.run();
      statements.deleteMessages.run();
      statements.deleteSyncedMeta.run();
    },
  };
}

// Open bounds are the int64 extremes, so no stored seq falls outside them.
const minInt64 = -(2n ** 63n);
const maxInt64 = 2n ** 63n - 1n;

function readMessages(
  statements: Statements,
  conversationId: string,
  range: MessageRange,
): MessageRecord[] {
  // SQLite treats a negative LIMIT as "no limit", so a bad value must fail here.
  if (!Number.isSafeInteger(range.limit) || range.limit < 0) {
    throw new Error(
      `getMessages() limit is ${range.limit}; it must be an integer of 0 or more`,
    );
  }
  const window = {
    conversationId,
    after: range.afterSeq ?? minInt64,
    before: range.beforeSeq ?? maxInt64,
    limit: range.limit,
  };

  // With only afterSeq the window starts at the bound; otherwise it ends at
  // the newest message below beforeSeq and is returned in ascending order.
  if (range.afterSeq !== undefined && range.beforeSeq === undefined) {
    return statements.oldestMessages.all(window).map(fromMessageRow);
  }
  return statements.newestMessages.all(window).map(fromMessageRow).reverse();
}

function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof Error &&
    "code" in error &&
    (error.code === "SQLITE_CONSTRAINT_UNIQUE" || error.code === "SQLITE_CONSTRAINT_PRIMARYKEY")
  );
}
