import { ConnectError, Code } from "@connectrpc/connect";
import { ErrorReason, type SubscribeResponse } from "@chatwire/gen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidV7 } from "../src/ids.js";
import { expectConnectError } from "./support/errors.js";
import { PROTOCOLS, directConversation, send, startTestServer, type TestServer } from "./support/server.js";

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer({ heartbeatMs: 200, maxMessageBytes: 64 });
});
afterAll(() => test.close());

describe.each(PROTOCOLS)("over %s", (protocol) => {
  it("sends, replays, reads history and syncs", async () => {
    const alice = await test.as(`alice-${protocol}`, protocol);
    const bob = await test.as(`bob-${protocol}`, protocol);
    const id = await directConversation(alice, bob.userId);
    const text = "\u{1F44B}\u{1F3FD} caf\u0065\u0301 \u0645\u0631\u062D\u0628\u0627";
    const key = uuidV7();
    const sent = await send(alice, id, text, key);
    const replay = await send(alice, id, text, key);
    expect(sent.message?.seq).toBe(1n);
    expect(replay.replayed).toBe(true);
    expect(replay.message?.messageId).toBe(sent.message?.messageId);

    const history = await bob.chat.getHistory({ conversationId: id });
    expect(Buffer.from(history.messages[0]?.text ?? "")).toEqual(Buffer.from(text));

    const page = await bob.chat.sync({ deviceId: "phone" });
    expect(page.events.map((event) => event.kind.case)).toEqual(["conversation", "message"]);
    expect(page.hasMore).toBe(false);
  });

  it("carries error details", async () => {
    const alice = await test.as(`carol-${protocol}`, protocol);
    const id = await directConversation(alice, "dave");
    const { error, detail } = await expectConnectError(send(alice, id, "x".repeat(65)), Code.InvalidArgument, ErrorReason.FIELD_TOO_LARGE);
    expect(error.rawMessage).toBe("text is 65 bytes; the limit is 64 bytes");
    expect(detail).toMatchObject({ field: "text", limit: 64n, actual: 65n });
  });

  it("streams a heartbeat, then catch-up and live batches", async () => {
    const alice = await test.as(`erin-${protocol}`, protocol);
    const bob = await test.as(`frank-${protocol}`, protocol);
    const id = await directConversation(alice, bob.userId);
    await send(alice, id, "before subscribe");
    const abort = new AbortController();
    const frames: SubscribeResponse[] = [];
    const reading = (async () => {
      for await (const frame of bob.chat.subscribe({ deviceId: "phone" }, { signal: abort.signal })) {
        frames.push(frame);
        const positions = frames.flatMap((f) => (f.kind.case === "batch" ? f.kind.value.events : []));
        if (positions.length === 3) {
          await send(alice, id, "while subscribed");
        }
        if (positions.length >= 3 && frames.filter((f) => f.kind.case === "heartbeat").length >= 2) abort.abort();
      }
    })().catch((error: unknown) => {
      if (!(error instanceof ConnectError && error.code === Code.Canceled)) throw error;
    });
    await send(alice, id, "second");
    await reading;
    expect(frames[0]?.kind.case).toBe("heartbeat");
    const heartbeat = frames[0]?.kind.case === "heartbeat" ? frames[0].kind.value : undefined;
    expect(heartbeat?.intervalMs).toBe(200);
    const events = frames.flatMap((frame) => (frame.kind.case === "batch" ? frame.kind.value.events : []));
    expect(events.map((event) => Number(event.position))).toEqual([1, 2, 3, 4]);
  });
});
