/**
 * ChatService.Subscribe: the caller's event log as a stream.
 *
 *   heartbeat -> catch-up batches (has_more = true) -> live batches
 *                      ^                                   |
 *                      +---- wake-up: fan-out, heartbeat ---+
 *
 * The stream ends with unavailable when the server shuts down and with
 * unauthenticated (TOKEN_EXPIRED) when the caller's token expires.
 */
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import {
  EventBatchSchema,
  HeartbeatSchema,
  SubscribeResponseSchema,
  type SubscribeRequest,
  type SubscribeResponse,
} from "@chatwire/gen";
import { callerOf } from "./context.js";
import { issueCursor, resolveClientCursor } from "./cursor.js";
import { shuttingDown, tokenExpired } from "./errors.js";
import { recordCursorInBackground, type ServiceDeps } from "./service-deps.js";
import { checkDeviceId } from "./validate.js";

export async function* subscribe(
  deps: ServiceDeps,
  request: SubscribeRequest,
  context: HandlerContext,
): AsyncGenerator<SubscribeResponse> {
  const { store, hub, limits } = deps;
  const caller = callerOf(context);
  const deviceId = checkDeviceId("device_id", request.deviceId);
  const bounds = await store.logBounds(caller.userId);
  const start = resolveClientCursor("cursor", request.cursor, caller.userId, store.logEpoch, bounds);
  if (request.cursor !== "") recordCursorInBackground(deps, caller.userId, deviceId, start);

  const heartbeat = () =>
    create(SubscribeResponseSchema, {
      kind: {
        case: "heartbeat",
        value: create(HeartbeatSchema, { serverTime: timestampNow(), intervalMs: limits.heartbeatMs }),
      },
    });

  const stream = await hub.open(caller.userId, start, caller.expiresAtMs, context.signal);
  try {
    yield heartbeat();
    stream.frameSent();
    for (;;) {
      if (context.signal.aborted) return;
      if (stream.closing) throw shuttingDown();
      if (stream.expired) throw tokenExpired();

      const events = await store.readEvents(caller.userId, stream.position, limits.defaultPageSize + 1);
      const page = events.slice(0, limits.defaultPageSize);
      const last = page[page.length - 1];
      if (last !== undefined) {
        stream.position = Number(last.position);
        yield create(SubscribeResponseSchema, {
          kind: {
            case: "batch",
            value: create(EventBatchSchema, {
              events: page,
              cursor: issueCursor(store.logEpoch, stream.position, caller.userId),
              hasMore: events.length > page.length,
            }),
          },
        });
        stream.frameSent();
        continue;
      }
      if (stream.heartbeatDue) {
        yield heartbeat();
        stream.frameSent();
        continue;
      }
      await stream.wait();
    }
  } finally {
    stream.close();
  }
}
