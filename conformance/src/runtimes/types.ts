/**
 * The contract between the conformance scenarios and a client runtime.
 *
 * Scenarios are written once and run against every runtime (Node now,
 * browser and sqlite-wasm pages later). They never touch a runtime's SDK
 * objects directly: they drive a `RuntimeClient`, whose methods take and
 * return plain JSON values, so that the same calls can travel over stdin and
 * stdout to a child process or through `page.evaluate` to a browser page.
 *
 * Vocabulary:
 * - A *client* runs a chatwire client for one user on persistent storage
 *   identified by a storage name. Closing it and creating another client on
 *   the same storage name is a restart: the outbox, messages and cursor
 *   survive.
 * - A *host* is a client in a separate process (or page) that the scenario
 *   can kill without warning (`SIGKILL`, a crashed tab), to prove that what
 *   `send()` accepted survives a crash.
 * - A *snapshot* is the client's state read back at one moment: the
 *   messages each conversation shows with their status, the stored
 *   conversations, the outbox and the connection state.
 */
import type { Claim } from "../tags.js";

/** Delivery status of a message as the client shows it. */
export type MessageStatus = "pending" | "sent" | "delivered" | "read" | "failed";

/** A message the client stores after the server committed it. */
export interface StoredMessage {
  seq: number;
  clientMessageId: string;
  senderId: string;
  text: string;
}

/** One message of a conversation view, as the user sees it. */
export interface MessageView {
  /** The sender's idempotency key. */
  clientMessageId: string;
  /** Server seq; absent while the message is only in the outbox. */
  seq?: number;
  senderId: string;
  text: string;
  status: MessageStatus;
}

/** One conversation as the client stores it. */
export interface ConversationView {
  conversationId: string;
  kind: "direct" | "group";
  title: string;
  memberIds: string[];
  lastSeq: number;
  unreadCount: number;
  /** True once the local user was removed from the conversation. */
  removed: boolean;
  /** Each member's receipt marks as this client stores them, by user id. */
  marks: Record<string, { deliveredSeq: number; readSeq: number }>;
}

/** A message accepted by `send()` and not yet acknowledged by the server. */
export interface OutboxView {
  clientMessageId: string;
  conversationId: string;
  text: string;
  state: "queued" | "failed";
  /** Connect code name of the rejection when state is "failed". */
  failureCode?: string;
}

/** The client's state at one moment. */
export interface ClientSnapshot {
  userId: string;
  /** The connection state's name: connecting, connected, waiting, offline, suspended or closed. */
  connection: string;
  conversations: ConversationView[];
  /** Stored messages per conversation id, ascending seq. */
  stored: Record<string, StoredMessage[]>;
  /**
   * What each conversation view shows, per conversation id: the newest
   * messages with their status, outbox entries included.
   */
  views: Record<string, MessageView[]>;
  outbox: OutboxView[];
  /** The stored sync cursor, or empty before the first sync. */
  cursor: string;
}

/**
 * Something the client did that a scenario may check afterwards. `at` is
 * the wall clock in ms since the epoch, so events of a host process and the
 * scenario's own timestamps compare on one machine.
 */
export type ClientEvent =
  | {
      type: "connection";
      at: number;
      /** Kind of the new state: connecting, connected, waiting, offline, suspended or closed. */
      next: string;
      prev: string;
      /** The new state as the SDK reports it, with its data (attempt, delay, reason). */
      detail: unknown;
    }
  | {
      type: "token";
      at: number;
      /** Why the SDK asked: initial, expired or rejected. */
      reason: string;
    }
  | {
      /** The SDK stored a message for the first time, which a host would announce (a notification). */
      type: "message";
      at: number;
      conversationId: string;
      seq: number;
      clientMessageId: string;
      /** True for the local user's own messages. */
      own: boolean;
    }
  | {
      /** The SDK discarded its synced state because the server could not serve its cursor. */
      type: "resync";
      at: number;
      reason: string;
    }
  | {
      /** The server rejected an outbox entry for good. */
      type: "outbox-failed";
      at: number;
      clientMessageId: string;
      /** Connect code name of the rejection. */
      code: string;
    };

/**
 * A condition a client waits for. Each one is a plain value so that a host
 * in another process or page can evaluate it on its own snapshots.
 */
export type WaitCondition =
  /** The conversation stores at least `count` messages. */
  | { kind: "stored"; conversationId: string; count: number }
  /** The outbox has no queued entry (failed entries stay parked and do not count). */
  | { kind: "outbox-drained" }
  /** The connection state has this name. */
  | { kind: "connection"; state: string }
  /** A message sent from this client has reached at least this status. */
  | { kind: "status"; conversationId: string; clientMessageId: string; status: MessageStatus }
  /** The stored conversation's unread count equals `count`. */
  | { kind: "unread"; conversationId: string; count: number }
  /** The client stores this conversation. */
  | { kind: "conversation"; conversationId: string }
  /** The client stores this conversation as one the local user was removed from. */
  | { kind: "removed"; conversationId: string };

/** Where a client connects and how it gets tokens. */
export interface ClientOptions {
  /** The user the client acts for; must match the tokens' subject. */
  userId: string;
  /** Server base URL, such as "http://127.0.0.1:8080". */
  baseUrl: string;
  /**
   * Names the persistent storage. A second client with the same name and
   * user opens the same storage, as an app does after a restart.
   */
  storageName: string;
  /** Returns a bearer token for `userId`; called whenever the SDK needs one. */
  getToken(request: { reason: string }): Promise<string>;
  /** Start with the network marked unavailable, so sends only queue. Default false. */
  startOffline?: boolean;
  /** SDK timing overrides (heartbeat slack, backoff, page size), passed to the core unchanged. */
  tuning?: Record<string, unknown>;
  /**
   * Milliseconds added to the wall clock the SDK reads, as on a device whose
   * clock is wrong: negative for a clock behind. Timers still fire after
   * the real delay. Default 0.
   */
  clockOffsetMs?: number;
}

/** A running chatwire client, in this process or another. Every method takes and returns JSON values. */
export interface RuntimeClient {
  readonly userId: string;
  /** Queues a message; resolves once it is in the persistent outbox. */
  send(conversationId: string, text: string): Promise<{ clientMessageId: string }>;
  /** Creates (or returns) the direct conversation with `otherUserId` and returns its id. */
  createDirect(otherUserId: string): Promise<string>;
  /** Creates a group with the given members (besides this user) and returns its id. */
  createGroup(title: string, memberIds: string[]): Promise<string>;
  /** Removes members from a group. */
  removeMembers(conversationId: string, userIds: string[]): Promise<void>;
  /** Queues a failed message again with the same clientMessageId, or sends a pending one now. */
  retry(clientMessageId: string): Promise<void>;
  /** Marks the conversation read up to `seq`, or to its newest message. */
  markRead(conversationId: string, seq?: number): Promise<void>;
  /** Tells the SDK whether the network is available, as an OS signal would. */
  setNetworkAvailable(available: boolean): Promise<void>;
  /** Asks the SDK to sync now. */
  syncNow(): Promise<void>;
  /** Tells the SDK the app moved to the background, as the platform's lifecycle signal would. */
  background(): Promise<void>;
  /** Tells the SDK the app is in the foreground again. */
  foreground(): Promise<void>;
  /** Runs the SDK's push wake-up: sync and flush the outbox within `deadlineMs`, then stop. */
  wake(deadlineMs: number): Promise<void>;
  /** Reads the client's state. */
  snapshot(): Promise<ClientSnapshot>;
  /** Waits until the condition holds; rejects after `timeoutMs` with the last snapshot in the message. */
  waitFor(condition: WaitCondition, timeoutMs: number): Promise<ClientSnapshot>;
  /** Returns the events recorded since the client was created. */
  events(): Promise<ClientEvent[]>;
  /** Closes the SDK and its storage. */
  close(): Promise<void>;
}

/** How a host process ended. */
export interface HostExit {
  code: number | null;
  signal: string | null;
}

/** A client in a separate process (or page) that can be killed without warning. */
export interface ClientHost extends RuntimeClient {
  /** Kills the process at once (`SIGKILL` for a process) and resolves when it is gone. */
  kill(): Promise<HostExit>;
  /** Resolves when the process has ended, for whatever reason. */
  readonly exited: Promise<HostExit>;
}

/**
 * A client runtime under test. Each runtime keeps its storages in its own
 * place (a temp folder, a browser profile) for the runtime's lifetime.
 */
export interface ClientRuntime {
  /** Short name used in test titles and reports ("node", "browser"). */
  readonly name: string;
  /**
   * The profiles the runtime claims and the reasons it leaves out the rest.
   * A suite run skips the scenarios of unclaimed profiles with that reason.
   * Default: every profile is claimed.
   */
  readonly claim?: Claim;
  /** Starts a client in the test's own process (or the runtime's default page). */
  createClient(options: ClientOptions): Promise<RuntimeClient>;
  /** Starts a client in a separate process (or page) that can be killed. */
  startHost(options: ClientOptions): Promise<ClientHost>;
  /** Releases every storage and process the runtime created. */
  close(): Promise<void>;
}
