/** ConversationService: creating conversations and managing their members. */
import type { ServiceImpl } from "@connectrpc/connect";
import { ConversationKind, ConversationService } from "@chatwire/gen";
import { callerOf } from "./context.js";
import { fieldInvalid, tooManyMembers, tooManyMembersWithCaller } from "./errors.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import type { ServiceDeps } from "./service-deps.js";
import { checkByteLength, checkConversationId, checkPageSize, checkRequestId, checkUserId } from "./validate.js";

const MAX_TITLE_BYTES = 256;

/** Checks every user id of a list and returns them without duplicates, in first-seen order. */
function checkUserIds(field: string, userIds: string[], maxCount: number): string[] {
  const unique = [...new Set(userIds)];
  // More distinct ids than the member limit overflow any conversation, so the
  // list is rejected before its ids are checked one by one.
  if (unique.length > maxCount) throw tooManyMembers(field, unique.length, maxCount);
  userIds.forEach((userId, index) => checkUserId(`${field}[${index}]`, userId));
  return unique;
}

export function createConversationService(deps: ServiceDeps): ServiceImpl<typeof ConversationService> {
  const { store, limits } = deps;

  return {
    async createConversation(request, context) {
      const caller = callerOf(context);
      if (request.kind !== ConversationKind.DIRECT && request.kind !== ConversationKind.GROUP) {
        throw fieldInvalid(
          "kind",
          `kind is ${request.kind}; use CONVERSATION_KIND_DIRECT (1) or CONVERSATION_KIND_GROUP (2)`,
        );
      }
      // The caller is always a member, so at most maxMembers - 1 others fit.
      const others = [...new Set(request.memberIds)].filter((userId) => userId !== caller.userId);
      if (request.kind === ConversationKind.GROUP && others.length + 1 > limits.maxMembers) {
        throw tooManyMembersWithCaller("member_ids", others.length, limits.maxMembers);
      }
      request.memberIds.forEach((userId, index) => checkUserId(`member_ids[${index}]`, userId));
      if (request.kind === ConversationKind.DIRECT) {
        if (others.length !== 1) {
          throw fieldInvalid(
            "member_ids",
            `a direct conversation needs exactly one other user in member_ids; got ${others.length}`,
          );
        }
        if (request.title !== "") {
          throw fieldInvalid("title", "title must be empty for a direct conversation");
        }
      } else {
        checkByteLength("title", request.title, MAX_TITLE_BYTES);
      }
      checkRequestId("request_id", request.requestId);
      return store.createConversation({
        creatorId: caller.userId,
        kind: request.kind,
        memberIds: others,
        title: request.title,
        requestId: request.kind === ConversationKind.GROUP ? request.requestId : "",
        maxMembers: limits.maxMembers,
      });
    },

    async getConversation(request, context) {
      const caller = callerOf(context);
      const conversationId = checkConversationId("conversation_id", request.conversationId);
      return { conversation: await store.getConversation(caller.userId, conversationId) };
    },

    async listConversations(request, context) {
      const caller = callerOf(context);
      const limit = checkPageSize(
        "page_size",
        request.pageSize,
        { defaultSize: limits.defaultPageSize, maxSize: limits.maxPageSize },
        "conversations",
      );
      const after = decodePageToken(request.pageToken);
      const page = await store.listConversations(caller.userId, { limit, after });
      return {
        conversations: page.conversations,
        nextPageToken: page.next === undefined ? "" : encodePageToken(page.next),
      };
    },

    async addMembers(request, context) {
      const caller = callerOf(context);
      const conversationId = checkConversationId("conversation_id", request.conversationId);
      const userIds = checkUserIds("user_ids", request.userIds, limits.maxMembers);
      const conversation = await store.addMembers({
        callerId: caller.userId,
        conversationId,
        userIds,
        maxMembers: limits.maxMembers,
      });
      return { conversation };
    },

    async removeMembers(request, context) {
      const caller = callerOf(context);
      const conversationId = checkConversationId("conversation_id", request.conversationId);
      const userIds = checkUserIds("user_ids", request.userIds, limits.maxMembers);
      const conversation = await store.removeMembers({ callerId: caller.userId, conversationId, userIds });
      return { conversation };
    },
  };
}
