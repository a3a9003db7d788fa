import { Code } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { ConversationKind } from "@chatwire/gen";
import type { Conversation, ConversationService } from "@chatwire/gen";
import { ChatError } from "./errors/chat-error.js";
import type { ChatEvent } from "./events.js";
import type { ServerInfoCache } from "./server-info.js";
import type { ChatStorage, ConversationRecord } from "./storage/types.js";
import { mergeConversation, toMessageRecord } from "./sync/records.js";
import { utf8ByteLength } from "./text.js";

/** Options of `createGroup`. */
export interface CreateGroupOptions {
  /** Group title, up to 256 UTF-8 bytes. */
  title: string;
  /** The other members, without the local user. */
  memberIds: readonly string[];
  /**
   * Idempotency key kept across retries of the same creation: 1 to 64 characters
   * of A-Z, a-z, 0-9, '_', '.', '@', ':' and '-'. Default: a new UUIDv7.
   */
  requestId?: string;
}

/** Dependencies the conversation calls get from the client. */
export interface ConversationApiContext {
  storage: ChatStorage;
  conversations: Client<typeof ConversationService>;
  serverInfo: ServerInfoCache;
  userId: string;
  newId(): string;
  /** Runs a call with the token, the deadline and the client's lifetime signal. */
  call<T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T>;
  onCommitted(conversationIds: readonly string[], events: readonly ChatEvent[]): void;
}

/** Maximum title size in UTF-8 bytes (CreateConversationRequest.title). */
const maxTitleBytes = 256;
/** Maximum user id length in characters (CreateConversationRequest.member_ids). */
const maxUserIdLength = 64;
/** Request ids the server accepts (CreateConversationRequest.request_id), so a bad one fails before it is sent. */
const requestIdPattern = /^[A-Za-z0-9_.@:-]{1,64}$/;
/** Pages ListConversations reads at most, so a server that always returns a next page cannot loop the client. */
export const maxListPages = 1_000;

/** Conversation RPCs whose results are also stored locally, so views show them at once. */
export class ConversationApi {
  readonly #context: ConversationApiContext;

  constructor(context: ConversationApiContext) {
    this.#context = context;
  }

  async createDirectConversation(userId: string): Promise<ConversationRecord> {
    checkUserIds([userId], "userId");
    if (userId === this.#context.userId) {
      throw new ChatError(Code.InvalidArgument, `userId is the local user "${userId}"; a direct conversation needs another user`);
    }
    const response = await this.#context.call("CreateConversation", (signal) =>
      this.#context.conversations.createConversation({ kind: ConversationKind.DIRECT, memberIds: [userId] }, { signal }),
    );
    return this.#store(response.conversation, false, "CreateConversation");
  }

  async createGroup(options: CreateGroupOptions): Promise<ConversationRecord> {
    const titleBytes = utf8ByteLength(options.title, "title");
    if (titleBytes > maxTitleBytes) {
      throw new ChatError(Code.InvalidArgument, `title is ${titleBytes} bytes of UTF-8; the limit is ${maxTitleBytes} bytes`);
    }
    checkUserIds(options.memberIds, "memberIds");
    this.#checkMemberCount(new Set([this.#context.userId, ...options.memberIds]).size);
    const requestId = options.requestId ?? this.#context.newId();
    checkRequestId(requestId);
    const response = await this.#context.call("CreateConversation", (signal) =>
      this.#context.conversations.createConversation(
        { kind: ConversationKind.GROUP, memberIds: [...options.memberIds], title: options.title, requestId },
        { signal },
      ),
    );
    return this.#store(response.conversation, false, "CreateConversation");
  }

  async addMembers(conversationId: string, userIds: readonly string[]): Promise<ConversationRecord> {
    checkUserIds(userIds, "userIds");
    const response = await this.#context.call("AddMembers", (signal) =>
      this.#context.conversations.addMembers({ conversationId, userIds: [...userIds] }, { signal }),
    );
    return this.#store(response.conversation, false, "AddMembers");
  }

  /**
   * Removes members. When the local user removes itself (leaves), the
   * conversation stays stored, marked removed, with its messages.
   */
  async removeMembers(conversationId: string, userIds: readonly string[]): Promise<ConversationRecord | undefined> {
    checkUserIds(userIds, "userIds");
    const response = await this.#context.call("RemoveMembers", (signal) =>
      this.#context.conversations.removeMembers({ conversationId, userIds: [...userIds] }, { signal }),
    );
    if (response.conversation !== undefined) return this.#store(response.conversation, false, "RemoveMembers");
    const left = await this.#context.storage.transaction("readwrite", async (tx) => {
      const local = await tx.getConversation(conversationId);
      if (local === undefined) return undefined;
      local.removed = true;
      await tx.putConversation(local);
      return local;
    });
    this.#context.onCommitted([conversationId], left ? [{ type: "conversation", conversation: left, removed: true }] : []);
    return left;
  }

  /**
   * Reads every page of the user's conversations and stores them. Unread
   * counts of conversations already stored are kept: sync keeps them exact,
   * and a snapshot taken while sync is behind would count some messages twice.
   */
  async listConversations(): Promise<ConversationRecord[]> {
    const all: Conversation[] = [];
    let pageToken = "";
    for (let page = 0; page < maxListPages; page++) {
      const response = await this.#context.call("ListConversations", (signal) =>
        this.#context.conversations.listConversations({ pageToken }, { signal }),
      );
      all.push(...response.conversations);
      pageToken = response.nextPageToken;
      if (pageToken === "") break;
    }
    const stored = await this.#context.storage.transaction("readwrite", async (tx) => {
      const records: ConversationRecord[] = [];
      for (const remote of all) {
        const local = await tx.getConversation(remote.conversationId);
        const merged = mergeConversation(local, remote, false);
        if (local !== undefined) merged.unreadCount = local.unreadCount;
        if (remote.lastMessage !== undefined) await tx.putMessages([toMessageRecord(remote.lastMessage)]);
        await tx.putConversation(merged);
        records.push(merged);
      }
      return records;
    });
    this.#context.onCommitted(
      stored.map((record) => record.conversationId),
      [],
    );
    return stored;
  }

  async #store(remote: Conversation | undefined, removed: boolean, what: string): Promise<ConversationRecord> {
    if (remote === undefined) throw new ChatError(Code.Internal, `${what} response has no conversation`);
    const record = await this.#context.storage.transaction("readwrite", async (tx) => {
      const merged = mergeConversation(await tx.getConversation(remote.conversationId), remote, removed);
      if (remote.lastMessage !== undefined) await tx.putMessages([toMessageRecord(remote.lastMessage)]);
      await tx.putConversation(merged);
      return merged;
    });
    this.#context.onCommitted([record.conversationId], [{ type: "conversation", conversation: record, removed }]);
    return record;
  }

  #checkMemberCount(count: number): void {
    const limit = this.#context.serverInfo.limits?.maxMembersPerConversation;
    if (limit !== undefined && limit > 0 && count > limit) {
      throw new ChatError(
        Code.InvalidArgument,
        `the group would have ${count} members with the local user; the server's limit is ${limit}`,
      );
    }
  }
}

function checkRequestId(requestId: string): void {
  // The typeof check is for JavaScript callers: RegExp.test() converts its argument, so ["req-1"] would pass.
  if (typeof requestId === "string" && requestIdPattern.test(requestId)) return;
  const excerpt = typeof requestId === "string" && requestId.length > 80 ? `${requestId.slice(0, 80)}...` : requestId;
  throw new ChatError(
    Code.InvalidArgument,
    `requestId ${JSON.stringify(excerpt)} is not a valid request id: use 1 to 64 characters of ` +
      "A-Z, a-z, 0-9, '_', '.', '@', ':' and '-', or leave it unset for a new UUIDv7",
  );
}

function checkUserIds(userIds: readonly string[], field: string): void {
  if (!Array.isArray(userIds)) throw new ChatError(Code.InvalidArgument, `${field} must be an array of user ids`);
  userIds.forEach((id, index) => {
    if (typeof id !== "string" || id.length === 0 || id.length > maxUserIdLength) {
      throw new ChatError(
        Code.InvalidArgument,
        `${field}[${index}] is ${JSON.stringify(id)}; a user id is 1 to ${maxUserIdLength} characters`,
      );
    }
  });
}
