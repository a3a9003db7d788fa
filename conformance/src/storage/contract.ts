import { describe } from "vitest";
import { useStorage, type OpenStorage } from "./harness.js";
import { describeClearSyncedState, describeClose } from "./lifecycle.js";
import { describeConversations, describeMeta } from "./meta-and-conversations.js";
import { describeMessages } from "./messages.js";
import { describeOutbox } from "./outbox.js";
import { describeTransactions } from "./transactions.js";
import { describeValues } from "./values.js";

export type { OpenStorage, StorageUnderTest } from "./harness.js";

/**
 * Registers the tests every `ChatStorage` adapter must pass, under
 * "storage contract › <name>".
 *
 * `open` is called before each test and returns a fresh, empty storage. With
 * `reopen`, the suite also checks that committed data survives a close and
 * reopen; without it those tests are reported as skipped.
 */
export function describeStorageContract(name: string, open: OpenStorage): void {
  describe("storage contract", () => {
    describe(name, () => {
      const h = useStorage(open);
      describeMeta(h);
      describeConversations(h);
      describeMessages(h);
      describeOutbox(h);
      describeTransactions(h);
      describeClearSyncedState(h);
      describeClose(h);
      describeValues(h);
    });
  });
}
