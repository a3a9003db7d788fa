/** ChatService: sending, history, sync, acknowledgements and server info. */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { ChatService, ServerLimitsSchema, type ReceiptMark } from "@chatwire/gen";
import { SERVER_VERSION } from "../version.js";
import { callerOf } from "./context.js";
import { issueCursor, resolveClientCursor } from "./cursor.js";
import { fieldTooLarge } from "./errors.js";
import { recordCursorInBackground, type ServiceDeps } from "./service-deps.js";
import { subscribe } from "./subscribe.js";
import {
  checkClientMessageId,
  checkConversationId,
  checkDeviceId,
  checkFromEnd,
  checkPageSize,
  checkSafeInteger,
  checkText,
  checkWaitMs,
} from "./validate.js";

export function createChatService(deps: ServiceDeps): ServiceImpl<typeof ChatService> {
  const { store, limits } = deps;
  const pageSizes = { defaultSize: limits.defaultPageSize, maxSize: limits.maxPageSize };

  return {
    async sendMessage(request, context) {
      const caller = callerOf(context);
      const conversationId = checkConversationId("conversation_id", request.conversationId);
      const clientMessageId = checkClientMessageId(request.clientMessageId);
      const text = checkText(request.text, limits.maxMessageBytes);
      const deviceId = checkDeviceId("device_id", request.deviceId);
      const result = await store.sendMessage({
        senderId: caller.userId,
        senderDeviceId: deviceId,
        conversationId,
        clientMessageId,
        text,
      });
      if (!result.replayed) deps.metrics.messagesCommitted.inc();
      return { message: result.message, replayed: result.replayed };
    },

    async getHistory(request, context) {
      const caller = callerOf(context);
      const conversationId = checkConversationId("conversation_id", request.conversationId);
      const beforeSeq = checkSafeInteger("before_seq", request.beforeSeq);
      const limit = checkPageSize("limit", request.limit, pageSizes, "messages");
      return store.getHistory(caller.userId, conversationId, { beforeSeq, limit });
    },

    async sync(request, context) {
      const caller = callerOf(context);
      const deviceId = checkDeviceId("device_id", request.deviceId);
      const limit = checkPageSize("limit", request.limit, pageSizes, "events");
      const waitMs = checkWaitMs(request.waitMs, limits.maxLongPollMs);
      if (request.fromEnd) {
        checkFromEnd(request.cursor, waitMs);
        const { head } = await store.logBounds(caller.userId);
        return { events: [], nextCursor: issueCursor(store.logEpoch, head, caller.userId), hasMore: false };
      }
      const bounds = await store.logBounds(caller.userId);
      const after = resolveClientCursor("cursor", request.cursor, caller.userId, store.logEpoch, bounds);
      if (request.cursor !== "") recordCursorInBackground(deps, caller.userId, deviceId, after);

      let events = await store.readEvents(caller.userId, after, limit + 1);
      if (events.length === 0 && waitMs > 0) {
        await deps.hub.waitForEvents(caller.userId, after, waitMs, context.signal, async () => {
          return (await store.logBounds(caller.userId)).head;
        });
        if (!context.signal.aborted) events = await store.readEvents(caller.userId, after, limit + 1);
      }
      const page = events.slice(0, limit);
      const last = page[page.length - 1];
      const nextCursor =
        last !== undefined
          ? issueCursor(store.logEpoch, Number(last.position), caller.userId)
          : request.cursor !== ""
            ? request.cursor
            : issueCursor(store.logEpoch, after, caller.userId);
      return { events: page, nextCursor, hasMore: events.length > limit };
    },

    subscribe(request, context) {
      return subscribe(deps, request, context);
    },

    async acknowledge(request, context) {
      const caller = callerOf(context);
      const deviceId = checkDeviceId("device_id", request.deviceId);
      if (request.marks.length > limits.maxPageSize) {
        throw fieldTooLarge("marks", request.marks.length, limits.maxPageSize, "marks");
      }
      let cursorPosition: number | undefined;
      if (request.cursor !== "") {
        const bounds = await store.logBounds(caller.userId);
        cursorPosition = resolveClientCursor("cursor", request.cursor, caller.userId, store.logEpoch, bounds);
      }
      const marks = request.marks.map((mark: ReceiptMark, index: number) => ({
        conversationId: checkConversationId(`marks[${index}].conversation_id`, mark.conversationId),
        deliveredSeq: checkSafeInteger(`marks[${index}].delivered_seq`, mark.deliveredSeq),
        readSeq: checkSafeInteger(`marks[${index}].read_seq`, mark.readSeq),
      }));
      const stored = await store.acknowledge({ userId: caller.userId, deviceId, cursorPosition, marks });
      return {
        marks: stored.map((mark) => ({
          conversationId: mark.conversationId,
          deliveredSeq: BigInt(mark.deliveredSeq),
          readSeq: BigInt(mark.readSeq),
        })),
      };
    },

    getServerInfo() {
      return {
        limits: create(ServerLimitsSchema, {
          maxMessageBytes: limits.maxMessageBytes,
          maxMembersPerConversation: limits.maxMembers,
          maxPageSize: limits.maxPageSize,
          maxLongPollMs: limits.maxLongPollMs,
          heartbeatIntervalMs: limits.heartbeatMs,
          maxRequestsPerSecond: limits.rateLimit,
          eventRetentionSeconds: BigInt(limits.retentionSeconds),
          maxStreamsPerUser: limits.maxStreamsPerUser,
        }),
        serverVersion: SERVER_VERSION,
      };
    },
  };
}
