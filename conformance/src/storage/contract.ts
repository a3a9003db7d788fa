import { describe } from "vitest";
import { useStorage, type OpenStorage } from "./harness.js";
import { describeClearSyncedState, describeClose } from "./lifecycle.js";
import { describeConversations, describeMeta } from "./meta-and-conversations.js";
import { describeMessages } from "./messages.js";
import { describeMigrations } from "./migrations.js";
import { describeOutbox } from "./outbox.js";
import { describePendingReadMarks } from "./pending-read-marks.js";
import type { TranscriptLoader } from "./texts.js";
import { describeTransactions } from "./transactions.js";
import { describeValues } from "./values.js";

export type { OpenStorage, StorageUnderTest } from "./harness.js";
export type { PreviousVersionData, PreviousVersionDatabase } from "./previous-version.js";
export type { TranscriptLoader } from "./texts.js";

/** Settings of the storage contract run. */
export interface StorageContractOptions {
  /**
   * Returns the transcript fixture the value tests take their hard texts
   * from. Default: read conformance/fixtures/conversation.jsonl with node:fs,
   * which a browser run cannot do.
   */
  loadTranscript?: TranscriptLoader;
}

/**
 * Registers the tests every `ChatStorage` adapter must pass, under
 * "storage contract › <name>".
 *
 * `open` is called before each test and returns a fresh, empty storage. With
 * `reopen`, the suite also checks that committed data survives a close and
 * reopen, and with `previousVersion` that the current code migrates a
 * database of the previous schema version. Without them those tests are
 * reported as skipped.
 */
export function describeStorageContract(name: string, open: OpenStorage, options: StorageContractOptions = {}): void {
  describe("storage contract", () => {
    describe(name, () => {
      const h = useStorage(open);
      describeMeta(h);
      describeConversations(h);
      describeMessages(h);
      describeOutbox(h);
      describePendingReadMarks(h);
      describeTransactions(h);
      describeClearSyncedState(h);
      describeClose(h);
      describeMigrations(h);
      describeValues(h, options.loadTranscript);
    });
  });
}
