import { Code } from "@connectrpc/connect";
import { ErrorReason } from "@chatwire/gen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectConnectError } from "./support/errors.js";
import { directConversation, send, startTestServer, type TestServer } from "./support/server.js";

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer({ retentionSeconds: 1, pruneIntervalMs: 100 });
});
afterAll(() => test.close());

describe("retention", () => {
  it("expires cursors older than the retention period", async () => {
    const alice = await test.as("ret-alice");
    const bob = await test.as("ret-bob");
    const id = await directConversation(alice, bob.userId);
    const start = await bob.chat.sync({ deviceId: "d" });
    await send(alice, id, "soon gone");
    const before = await bob.chat.sync({ deviceId: "d", cursor: start.nextCursor });
    expect(before.events).toHaveLength(1);

    await new Promise((resolve) => setTimeout(resolve, 1600));
    await expectConnectError(bob.chat.sync({ deviceId: "d", cursor: start.nextCursor }), Code.OutOfRange, ErrorReason.CURSOR_EXPIRED);

    const fresh = await bob.chat.sync({ deviceId: "d" });
    expect(fresh.events).toEqual([]);
    const latest = await bob.chat.sync({ deviceId: "d", cursor: before.nextCursor });
    expect(latest.events).toEqual([]);
    const history = await bob.chat.getHistory({ conversationId: id });
    expect(history.messages.map((message) => message.text)).toEqual(["soon gone"]);
  });
});
