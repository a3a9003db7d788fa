import { Code, ConnectError } from "@connectrpc/connect";
import type { SubscribeResponse } from "@chatwire/gen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectConnectError } from "./support/errors.js";
import { directConversation, eventually, send, startTestServer, type TestServer } from "./support/server.js";

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer({ heartbeatMs: 150, defaultPageSize: 10 });
});
afterAll(() => test.close());

describe("long-poll Sync", () => {
  it("returns as soon as an event commits", async () => {
    const alice = await test.as("lp-alice");
    const bob = await test.as("lp-bob");
    const id = await directConversation(alice, bob.userId);
    const head = await bob.chat.sync({ deviceId: "d" });
    const started = Date.now();
    const polling = bob.chat.sync({ deviceId: "d", cursor: head.nextCursor, waitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await send(alice, id, "wake up");
    const page = await polling;
    expect(page.events.map((event) => event.kind.case)).toEqual(["message"]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(page.nextCursor).not.toBe(head.nextCursor);
    void id;
  });

  it("returns an empty page after wait_ms", async () => {
    const bob = await test.as("lp-idle");
    const head = await bob.chat.sync({ deviceId: "d" });
    const started = Date.now();
    const page = await bob.chat.sync({ deviceId: "d", cursor: head.nextCursor, waitMs: 300 });
    expect(page.events).toEqual([]);
    expect(page.hasMore).toBe(false);
    expect(page.nextCursor).toBe(head.nextCursor);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe("Subscribe", () => {
  it("pages the catch-up, then sends heartbeats and live batches with cursors", async () => {
    const alice = await test.as("sub-alice");
    const bob = await test.as("sub-bob", "grpc");
    const id = await directConversation(alice, bob.userId);
    for (let index = 0; index < 24; index++) await send(alice, id, `backlog ${index}`);
    const frames: SubscribeResponse[] = [];
    const abort = new AbortController();
    const reading = (async () => {
      for await (const frame of bob.chat.subscribe({ deviceId: "d" }, { signal: abort.signal })) frames.push(frame);
    })().catch((error: unknown) => {
      if (!(error instanceof ConnectError && error.code === Code.Canceled)) throw error;
    });
    await eventually(() => frames.filter((frame) => frame.kind.case === "heartbeat").length >= 3, 5000, "idle heartbeats");
    await send(alice, id, "live");
    await eventually(() => frames.some((frame) => frame.kind.case === "batch" && frame.kind.value.events.some((event) => event.kind.case === "message" && event.kind.value.message?.text === "live")), 5000, "live batch");
    abort.abort();
    await reading;

    expect(frames[0]?.kind.case).toBe("heartbeat");
    const batches = frames.flatMap((frame) => (frame.kind.case === "batch" ? [frame.kind.value] : []));
    expect(batches.map((batch) => batch.events.length)).toEqual([10, 10, 5, 1]);
    expect(batches.map((batch) => batch.hasMore)).toEqual([true, true, false, false]);
    const positions = batches.flatMap((batch) => batch.events.map((event) => Number(event.position)));
    expect(positions).toEqual(Array.from({ length: 26 }, (_, index) => index + 1));
    expect(new Set(batches.map((batch) => batch.cursor)).size).toBe(4);

    const resumed = await bob.chat.sync({ deviceId: "d", cursor: batches[2]?.cursor ?? "" });
    expect(resumed.events.map((event) => Number(event.position))).toEqual([26]);
  });

  it("resumes after a cursor without repeating events", async () => {
    const alice = await test.as("resume-alice");
    const bob = await test.as("resume-bob");
    const id = await directConversation(alice, bob.userId);
    await send(alice, id, "one");
    const first = await bob.chat.sync({ deviceId: "d" });
    await send(alice, id, "two");
    const abort = new AbortController();
    const events: number[] = [];
    await (async () => {
      for await (const frame of bob.chat.subscribe({ deviceId: "d", cursor: first.nextCursor }, { signal: abort.signal })) {
        if (frame.kind.case === "batch") events.push(...frame.kind.value.events.map((event) => Number(event.position)));
        if (events.length > 0) abort.abort();
      }
    })().catch(() => {});
    expect(events).toEqual([3]);
  });

  it("removes its listeners when the client goes away", async () => {
    const bob = await test.as("leaver");
    for (let round = 0; round < 20; round++) {
      const abort = new AbortController();
      await (async () => {
        for await (const frame of bob.chat.subscribe({ deviceId: "d" }, { signal: abort.signal })) {
          void frame;
          abort.abort();
        }
      })().catch(() => {});
    }
    await eventually(() => true);
    const metrics = async () => (await (await fetch(`${test.url}/metrics`)).text()).match(/^chatwire_subscribe_streams_open (\d+)/m)?.[1];
    const deadline = Date.now() + 3000;
    while ((await metrics()) !== "0" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await metrics()).toBe("0");
  });
});

describe("graceful shutdown", () => {
  it("ends open streams with unavailable and closes", async () => {
    const own = await startTestServer({ heartbeatMs: 100 });
    const alice = await own.as("alice");
    const bob = await own.as("bob", "connect-h1");
    const id = await directConversation(alice, "bob");
    let frames = 0;
    const streaming = (async () => {
      for await (const frame of bob.chat.subscribe({ deviceId: "d" })) {
        void frame;
        frames++;
      }
    })();
    const polling = alice.chat.sync({ deviceId: "d", cursor: (await alice.chat.sync({ deviceId: "d" })).nextCursor, waitMs: 20_000 });
    await eventually(() => frames >= 2, 5000, "stream frames");
    const streamEnd = expectConnectError(streaming, Code.Unavailable);

    const closing = own.close();
    const health = await fetch(`${own.url}/healthz`).then(
      (response) => response.status,
      () => "refused",
    );
    expect([503, "refused"]).toContain(health);
    await streamEnd;
    expect((await polling).events).toEqual([]);
    await closing;
    await expect(send(alice, id, "after close")).rejects.toThrow();
  });
});
