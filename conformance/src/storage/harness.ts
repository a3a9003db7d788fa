import { afterEach, beforeEach } from "vitest";
import type { ChatStorage, StorageTransaction } from "@chatwire/sdk-core";
import type { PreviousVersionDatabase } from "./previous-version.js";

/** A fresh, empty storage for one test, as an adapter's test file provides it. */
export interface StorageUnderTest {
  storage: ChatStorage;
  /**
   * Opens the same underlying database again after `storage` was closed.
   * Omit it for adapters that keep nothing across instances (memory).
   */
  reopen?: () => Promise<ChatStorage>;
  /**
   * A second database of this test, created at the adapter's previous schema
   * version, for the migration tests. Omit it for adapters that keep nothing
   * across instances (memory).
   */
  previousVersion?: PreviousVersionDatabase;
  /** Releases what the test used (temporary files), after the storage is closed. */
  cleanup(): Promise<void>;
}

export type OpenStorage = () => Promise<StorageUnderTest>;

/** The storage of the running test, with shortcuts for one-transaction steps. */
export interface StorageHarness {
  readonly storage: ChatStorage;
  readonly canReopen: boolean;
  /** The adapter's previous-version database of this test, when it provides one. */
  readonly previousVersion: PreviousVersionDatabase | undefined;
  write<T>(run: (tx: StorageTransaction) => Promise<T>): Promise<T>;
  read<T>(run: (tx: StorageTransaction) => Promise<T>): Promise<T>;
  /** Closes the storage; the harness does not close it again after the test. */
  close(): Promise<void>;
  /** Closes the storage and continues the test on the reopened one. */
  reopen(): Promise<void>;
  /**
   * Closes the storage and continues the test on the previous-version
   * database, opened by the current code, which migrates it. A later
   * reopen() opens that database again.
   */
  openPreviousVersion(): Promise<void>;
}

/** Registers hooks that open a fresh storage before each test and release it after. */
export function useStorage(open: OpenStorage): StorageHarness {
  let current: StorageUnderTest | undefined;
  let storage: ChatStorage | undefined;
  let closed = false;
  let reopenCurrent: (() => Promise<ChatStorage>) | undefined;

  beforeEach(async () => {
    current = await open();
    storage = current.storage;
    closed = false;
    reopenCurrent = current.reopen;
  });

  afterEach(async () => {
    try {
      if (storage !== undefined && !closed) await storage.close();
    } finally {
      await current?.cleanup();
      current = undefined;
      storage = undefined;
      reopenCurrent = undefined;
    }
  });

  const live = (): ChatStorage => {
    if (storage === undefined) throw new Error("the storage is used outside a test");
    return storage;
  };

  const harness: StorageHarness = {
    get storage() {
      return live();
    },
    get canReopen() {
      return current?.reopen !== undefined;
    },
    get previousVersion() {
      return current?.previousVersion;
    },
    write: (run) => live().transaction("readwrite", run),
    read: (run) => live().transaction("readonly", run),
    async close() {
      closed = true;
      await live().close();
    },
    async reopen() {
      if (reopenCurrent === undefined) throw new Error("this adapter does not provide reopen()");
      if (!closed) await harness.close();
      storage = await reopenCurrent();
      closed = false;
    },
    async openPreviousVersion() {
      const previous = current?.previousVersion;
      if (previous === undefined) throw new Error("this adapter does not provide previousVersion");
      if (!closed) await harness.close();
      storage = await previous.open();
      closed = false;
      reopenCurrent = () => previous.open();
    },
  };
  return harness;
}
