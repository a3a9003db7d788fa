import Database from "better-sqlite3";
import { migrate } from "./schema.js";

export type SynchronousMode = "full" | "normal";

/**
 * Opens the SQLite file in WAL mode with the given synchronous level and
 * brings its schema to the latest version. Closes the connection again when
 * any step fails.
 */
export function openDatabase(path: string, synchronous: SynchronousMode): Database.Database {
  if (synchronous !== "full" && synchronous !== "normal") {
    throw new Error(`synchronous is "${String(synchronous)}"; use "full" or "normal"`);
  }

  const db = new Database(path);
  try {
    // WAL lets another connection (a debugging shell, a second process) read
    // during a write, and makes a commit one sequential append to the log.
    // An in-memory database reports "memory" and has no durability to keep.
    const journalMode = db.pragma("journal_mode = WAL", { simple: true });
    if (journalMode !== "wal" && journalMode !== "memory") {
      throw new Error(
        `storage file ${path} could not switch to WAL mode (it reports "${String(journalMode)}"); ` +
          "check that its folder is writable and on a local file system",
      );
    }
    db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
