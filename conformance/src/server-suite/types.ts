/**
 * The case model of the black-box server suite.
 *
 * A server case checks one behaviour of a chatwire.v1 server over the wire
 * only: it needs nothing but the server's base URL and a way to get tokens.
 * It runs once per wire protocol it lists, uses `node:assert`, and so runs
 * the same under vitest and under a command-line runner. Every user id a case
 * creates is unique to the run, so the suite can run again and again against
 * one long-lived server.
 */
import type { Client } from "@connectrpc/connect";
import type {
  ChatService,
  ConversationService,
  Event,
  SendMessageResponse,
  ServerLimits,
} from "@chatwire/gen";

import type { Claim, Guarantee, Profile } from "../tags.js";
import type { WireProtocol } from "../report/types.js";
import type { RawRequest, RawOutcome } from "./raw.js";
import type { TokenMinter, TokenSource } from "./tokens.js";

export type { WireProtocol } from "../report/types.js";

/** Every wire protocol the suite speaks, in the order it runs them. */
export const WIRE_PROTOCOLS: readonly WireProtocol[] = ["connect", "grpc", "grpc-web"];

/** One behaviour of a server, checked over one or more wire protocols. */
export interface ServerCase {
  /** Stable id for reports and filters, such as "server.idempotency.replay". */
  readonly id: string;
  /** One line: the situation and the expected outcome. */
  readonly title: string;
  readonly profile: Profile;
  readonly guarantees: readonly Guarantee[];
  /** The protocols the case runs over; a run skips the others with the reason. */
  readonly protocols: readonly WireProtocol[];
  /**
   * Time the case needs beyond the suite's per-case timeout, in ms, for
   * waits that the server's limits or the retention option set.
   */
  extraTimeoutMs?(limits: ServerLimits, shortRetentionMs: number | undefined): number;
  run(context: CaseContext): Promise<void>;
}

/** Options of runServerSuite. */
export interface ServerSuiteOptions {
  /** The server's base URL, such as "http://127.0.0.1:8080". */
  baseUrl: string;
  /** The source of bearer tokens; see tokens.ts. */
  tokens: TokenSource;
  /** The protocols to run each case over. Default: all three. */
  protocols?: readonly WireProtocol[];
  /**
   * The implementation's name and the profiles it claims. Cases of other
   * profiles are skipped with the reason the claim gives for the gap.
   * Default: named after baseUrl, claiming "core" only.
   */
  claim?: Claim;
  /** Runs only the cases for which this returns true. Default: every case. */
  filter?: (serverCase: ServerCase) => boolean;
  /**
   * Upper bound for one case on one protocol, in ms, before the time a case
   * adds for the server's heartbeat and long-poll waits. Default 30,000.
   */
  caseTimeoutMs?: number;
  /**
   * How long after an event is written the server has certainly deleted it,
   * in ms: its retention plus the interval at which it deletes. Set this only
   * for a server configured with a short retention; the retention case waits
   * this long and is skipped when it is unset.
   */
  shortRetentionMs?: number;
  /** Called as each case starts on a protocol, before its result reaches the result listener. Default: none. */
  onCaseStart?: (serverCase: ServerCase, protocol: WireProtocol) => void;
  /** Receives progress lines. Default: none. */
  log?: (line: string) => void;
}

/** A user of one case, with clients over the case's protocol that carry its token. */
export interface SuiteUser {
  /** Unique to the run: "<run id>.<case number>.<protocol>.<label>". */
  readonly userId: string;
  /** The device id every helper below sends. */
  readonly deviceId: string;
  readonly chat: Client<typeof ChatService>;
  readonly conversations: Client<typeof ConversationService>;
  /** Returns the user's current token (cached). */
  token(): Promise<string>;
  /** Creates a group of the caller and `memberIds` and returns its id. */
  createGroup(memberIds: readonly string[], title?: string): Promise<string>;
  /** Creates (or returns) the direct conversation with `otherUserId` and returns its id. */
  createDirect(otherUserId: string): Promise<string>;
  /** Sends `text` with a fresh UUIDv7 key, or with `clientMessageId` when given. */
  send(conversationId: string, text: string, clientMessageId?: string): Promise<SendMessageResponse>;
  /** Reads every event after `cursor` (default: from the start) page by page with Sync. */
  syncAll(cursor?: string, limit?: number): Promise<{ events: Event[]; cursor: string; pages: number }>;
}

/** Options of CaseContext.user. */
export interface UserOptions {
  /**
   * Retry calls rejected with RATE_LIMITED after their retry_after_ms, so
   * that a server with a low rate limit does not fail unrelated cases.
   * Default true.
   */
  retryRateLimited?: boolean;
  /** Send this token on every call instead of the hook's, or no token for null. */
  fixedToken?: string | null;
}

/** The server, limits, users and helpers a running case works with. */
export interface CaseContext {
  readonly protocol: WireProtocol;
  readonly baseUrl: string;
  /** The limits GetServerInfo reported over this protocol at the start of the run. */
  readonly limits: ServerLimits;
  /** See ServerSuiteOptions.shortRetentionMs. */
  readonly shortRetentionMs: number | undefined;
  /** Aborted when the case times out or ends; every client call of the case carries it. */
  readonly signal: AbortSignal;
  readonly tokens: TokenMinter;
  /** Creates a user unique to this run; `label` must be 1 to 16 characters of [a-z0-9-]. */
  user(label: string, options?: UserOptions): SuiteUser;
  /** Posts a raw request body over this case's protocol, with `token` (or none for null). */
  raw(request: RawRequest): Promise<RawOutcome>;
  /** Ends the case as skipped with `reason`. */
  skip(reason: string): never;
  /** Records a progress line. */
  step(message: string): void;
}

/** Thrown by CaseContext.skip; the runner records the case as skipped. */
export class CaseSkipped extends Error {
  override readonly name = "CaseSkipped";
}
