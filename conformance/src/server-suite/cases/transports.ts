/**
 * Every HTTP version and body codec of a protocol: the other cases use one
 * shape per protocol (transports.ts), so this one covers the rest. A server
 * serves Connect and gRPC-Web over HTTP/1.1 and HTTP/2 and gRPC over HTTP/2,
 * with ErrorDetail on each.
 */
import assert from "node:assert/strict";

import { Code, createClient } from "@connectrpc/connect";
import { ChatService, ErrorReason } from "@chatwire/gen";

import { uuidv7 } from "../../scenarios/protocol.js";
import { expectRejected } from "../assertions.js";
import { bearerInterceptor, createShapedTransport, type TransportShape } from "../transports.js";
import { WIRE_PROTOCOLS, type ServerCase, type WireProtocol } from "../types.js";
import { messagesIn } from "./helpers.js";

/** How long the Subscribe check waits for the message, in ms. */
const SUBSCRIBE_DEADLINE_MS = 10_000;

const SHAPES: Readonly<Record<WireProtocol, readonly TransportShape[]>> = {
  connect: [
    { protocol: "connect", httpVersion: "1.1", binary: false },
    { protocol: "connect", httpVersion: "1.1", binary: true },
    { protocol: "connect", httpVersion: "2", binary: false },
    { protocol: "connect", httpVersion: "2", binary: true },
  ],
  grpc: [{ protocol: "grpc", httpVersion: "2", binary: true }],
  "grpc-web": [
    { protocol: "grpc-web", httpVersion: "1.1", binary: true },
    { protocol: "grpc-web", httpVersion: "2", binary: true },
  ],
};

function describeShape(shape: TransportShape): string {
  return `${shape.protocol} over HTTP/${shape.httpVersion} with ${shape.binary ? "binary" : "JSON"} bodies`;
}

const everyShape: ServerCase = {
  id: "server.transport.shapes",
  title: "each HTTP version and body codec of the protocol serves unary calls, streams and error details",
  profile: "core",
  guarantees: ["G6 real-time with fallback", "G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);

    for (const shape of SHAPES[context.protocol]) {
      const label = describeShape(shape);
      context.step(label);
      const transport = createShapedTransport(context.baseUrl, shape, [bearerInterceptor(() => bob.token())]);
      const chat = createClient(ChatService, transport);
      const options = { signal: context.signal };

      const info = await chat.getServerInfo({}, options);
      assert.equal(info.limits?.maxMessageBytes, context.limits.maxMessageBytes, `${label}: GetServerInfo returns the limits`);

      const text = `sent ${label}`;
      const sent = await chat.sendMessage({ conversationId, clientMessageId: uuidv7(), text, deviceId: bob.deviceId }, options);
      assert.equal(sent.message?.text, text, `${label}: SendMessage returns the message`);

      const call = chat.subscribe({ deviceId: bob.deviceId }, { ...options, timeoutMs: SUBSCRIBE_DEADLINE_MS });
      const stream = call[Symbol.asyncIterator]();
      try {
        let seen = false;
        while (!seen) {
          const frame = await stream.next();
          if (frame.done) break;
          if (frame.value.kind.case !== "batch") continue;
          seen = messagesIn(frame.value.kind.value.events, conversationId).some((message) => message.text === text);
        }
        assert.ok(seen, `${label}: Subscribe delivers the message`);
      } finally {
        await stream.return?.();
      }

      await expectRejected(`${label}: empty text`, chat.sendMessage({ conversationId, clientMessageId: uuidv7(), text: "", deviceId: bob.deviceId }, options), {
        code: Code.InvalidArgument,
        reason: ErrorReason.FIELD_INVALID,
        field: "text",
      });
    }
  },
};

export const transportCases: readonly ServerCase[] = [everyShape];
