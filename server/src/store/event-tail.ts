/**
 * The newest events of recently active logs, kept in memory after their
 * commit so that live readers get them without a query and without decoding.
 *
 * The database stays the source of truth. A user's tail contains a contiguous
 * run of positions that ends at the log's head: the store appends each
 * committed event right after its COMMIT returns, in position order, before
 * any reader runs. The store serves a read from memory only when the tail
 * contains the position right after the reader's. Otherwise (a log never
 * cached, evicted or pruned, or a server restart) it reads the database.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { EventSchema, type Event } from "@chatwire/gen";

/**
 * One committed event: its encoded payload without position, the same event
 * decoded (also without position) when the write had it, and, once a reader
 * asked for it, the Event with its position.
 */
export interface TailEntry {
  position: number;
  payload: Uint8Array;
  template: Event | undefined;
  event: Event | undefined;
}

export interface EventTailLimits {
  /** Events kept per log; older ones are dropped first. */
  perLog: number;
  /** Events kept over all logs; the least recently written logs are dropped first. */
  total: number;
}

export class EventTail {
  readonly #limits: EventTailLimits;
  /** Map order is write order: the first log is the least recently written. */
  readonly #logs = new Map<string, TailEntry[]>();
  #size = 0;

  constructor(limits: EventTailLimits) {
    this.#limits = limits;
  }

  /** Events kept over all logs. */
  get size(): number {
    return this.#size;
  }

  /** Records a committed event. A position that does not follow the tail restarts it. */
  append(userId: string, entry: TailEntry): void {
    if (this.#limits.perLog <= 0 || this.#limits.total <= 0) return;
    let entries = this.#logs.get(userId);
    if (entries !== undefined) {
      this.#logs.delete(userId);
      const last = entries[entries.length - 1];
      if (last === undefined || entry.position !== last.position + 1) {
        this.#size -= entries.length;
        entries = [];
      }
    } else {
      entries = [];
    }
    entries.push(entry);
    this.#size += 1;
    if (entries.length > this.#limits.perLog) {
      entries.shift();
      this.#size -= 1;
    }
    this.#logs.set(userId, entries);
    while (this.#size > this.#limits.total) this.#evictOldest();
  }

  /**
   * Events after `afterPosition`, at most `limit`, or undefined when the tail
   * cannot prove that it contains every one of them.
   */
  read(userId: string, afterPosition: number, limit: number): Event[] | undefined {
    const entries = this.#logs.get(userId);
    const first = entries?.[0];
    if (entries === undefined || first === undefined) return undefined;
    const start = afterPosition + 1 - first.position;
    if (start < 0) return undefined;
    const end = Math.min(entries.length, start + limit);
    const events: Event[] = [];
    for (let index = start; index < end; index++) {
      const entry = entries[index] as TailEntry;
      entry.event ??= eventAt(entry);
      events.push(entry.event);
    }
    return events;
  }

  /** Drops the entries of a log at or below `position`, after the database pruned it. */
  dropThrough(userId: string, position: number): void {
    const entries = this.#logs.get(userId);
    if (entries === undefined) return;
    const keep = entries.filter((entry) => entry.position > position);
    this.#size -= entries.length - keep.length;
    if (keep.length === 0) this.#logs.delete(userId);
    else this.#logs.set(userId, keep);
  }

  clear(): void {
    this.#logs.clear();
    this.#size = 0;
  }

  #evictOldest(): void {
    for (const [userId, entries] of this.#logs) {
      this.#logs.delete(userId);
      this.#size -= entries.length;
      return;
    }
  }
}

/** Readers share the Event, so it must not be changed after this. */
function eventAt(entry: TailEntry): Event {
  if (entry.template !== undefined) return { ...entry.template, position: BigInt(entry.position) };
  const event = fromBinary(EventSchema, entry.payload);
  event.position = BigInt(entry.position);
  return event;
}
