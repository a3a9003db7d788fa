import { Code, ConnectError } from "@connectrpc/connect";
import type { SubscribeResponse } from "@chatwire/gen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectConnectError } from "./support/errors.js";
import { directConversation, eventually, PROTOCOLS, send, startTestServer, type TestServer, type UserClients } from "./support/server.js";

const LIMIT = 3;

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer({ heartbeatMs: 100, maxStreamsPerUser: LIMIT });
});
afterAll(() => test.close());

/** Reads one gauge from GET /metrics. */
async function gauge(name: string): Promise<number> {
  const text = await (await fetch(`${test.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1]);
}

/** Polls a gauge until it has the expected value, or fails after 5 s. */
async function gaugeReaches(name: string, expected: number): Promise<void> {
  const deadline = Date.now() + 5000;
  let value = await gauge(name);
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await gauge(name);
  }
  expect(value, name).toBe(expected);
}

const STREAMS = "chatwire_subscribe_streams_open";
const POLLS = "chatwire_sync_long_polls_waiting";

interface OpenStream {
  frames: SubscribeResponse[];
  /** Settles when the stream ends: undefined after a client abort, the error otherwise. */
  ended: Promise<unknown>;
  abort(): void;
}

/** Opens a Subscribe stream and resolves once its first heartbeat arrived, so its slot is taken. */
async function openStream(user: UserClients): Promise<OpenStream> {
  const controller = new AbortController();
  const frames: SubscribeResponse[] = [];
  const ended = (async () => {
    for await (const frame of user.chat.subscribe({ deviceId: "d" }, { signal: controller.signal })) frames.push(frame);
  })().then(
    () => undefined,
    (error: unknown) => (controller.signal.aborted ? undefined : error),
  );
  await Promise.race([
    eventually(() => frames.length > 0, 5000, "the first heartbeat"),
    ended.then((error) => {
      if (error !== undefined) throw error;
    }),
  ]);
  return { frames, ended, abort: () => controller.abort() };
}

/** Starts a long-poll Sync at the head of the user's log and resolves once it waits. */
async function openLongPoll(user: UserClients, waitingBefore: number) {
  const controller = new AbortController();
  const head = await user.chat.sync({ deviceId: "d" });
  const page = user.chat.sync({ deviceId: "d", cursor: head.nextCursor, waitMs: 20_000 }, { signal: controller.signal });
  const ended = page.then(
    () => undefined,
    (error: unknown) => (controller.signal.aborted ? undefined : error),
  );
  await gaugeReaches(POLLS, waitingBefore + 1);
  return { page, ended, abort: () => controller.abort() };
}

describe("per-user limit on Subscribe streams and long-polls", () => {
  it("is advertised in GetServerInfo", async () => {
    const alice = await test.as("cap-info");
    const info = await alice.chat.getServerInfo({});
    expect(info.limits?.maxStreamsPerUser).toBe(LIMIT);
  });

  it("rejects the call over the limit until one closes", async () => {
    const alice = await test.as("cap-alice");
    const first = await openStream(alice);
    const second = await openStream(alice);
    const poll = await openLongPoll(alice, 0);

    const overStream = await openStream(alice).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(overStream).toBeInstanceOf(ConnectError);
    const rejected = overStream as ConnectError;
    expect(rejected.code).toBe(Code.ResourceExhausted);
    expect(rejected.rawMessage).toBe(
      `user cap-alice has ${LIMIT} open Subscribe streams and long-poll Syncs; the limit is ${LIMIT}; ` +
        "close one or retry after one ends",
    );
    // No RATE_LIMITED reason: clients retry with backoff, and old streams close meanwhile.
    expect(rejected.details).toEqual([]);

    const head = await alice.chat.sync({ deviceId: "d" });
    await expectConnectError(alice.chat.sync({ deviceId: "d", cursor: head.nextCursor, waitMs: 5000 }), Code.ResourceExhausted);
    // A Sync that does not wait takes no slot.
    expect((await alice.chat.sync({ deviceId: "d", cursor: head.nextCursor })).events).toEqual([]);
    // The limit is per user.
    const bob = await test.as("cap-bob");
    const bobStream = await openStream(bob);

    first.abort();
    expect(await first.ended).toBeUndefined();
    await gaugeReaches(STREAMS, 2);
    const third = await openStream(alice);
    await expectConnectError(openStream(alice), Code.ResourceExhausted);

    poll.abort();
    expect(await poll.ended).toBeUndefined();
    await gaugeReaches(POLLS, 0);
    const fourth = await openStream(alice);

    for (const stream of [second, third, fourth, bobStream]) stream.abort();
    await gaugeReaches(STREAMS, 0);
  }, 20_000);

  it("frees the slot of a long-poll that an event or its timeout ends", async () => {
    const alice = await test.as("cap-poll-alice");
    const bob = await test.as("cap-poll-bob");
    const id = await directConversation(alice, bob.userId);
    for (let round = 0; round < LIMIT * 2; round++) {
      const poll = await openLongPoll(bob, 0);
      await send(alice, id, `wake ${round}`);
      expect((await poll.page).events.length).toBeGreaterThan(0);
      await gaugeReaches(POLLS, 0);
    }
    for (let round = 0; round < LIMIT * 2; round++) {
      const head = await bob.chat.sync({ deviceId: "d" });
      expect((await bob.chat.sync({ deviceId: "d", cursor: head.nextCursor, waitMs: 20 })).events).toEqual([]);
    }
    const streams = [];
    for (let index = 0; index < LIMIT; index++) streams.push(await openStream(bob));
    for (const stream of streams) stream.abort();
    await gaugeReaches(STREAMS, 0);
  }, 20_000);

  for (const protocol of PROTOCOLS) {
    it(`frees the slots of streams the client aborts (${protocol})`, async () => {
      const user = await test.as(`cap-abort-${protocol}`, protocol);
      for (let round = 0; round < LIMIT * 3; round++) {
        const stream = await openStream(user);
        stream.abort();
        expect(await stream.ended).toBeUndefined();
      }
      await gaugeReaches(STREAMS, 0);
      for (let round = 0; round < LIMIT * 2; round++) {
        const poll = await openLongPoll(user, 0);
        poll.abort();
        expect(await poll.ended).toBeUndefined();
        await gaugeReaches(POLLS, 0);
      }
      const streams = [];
      for (let index = 0; index < LIMIT; index++) streams.push(await openStream(user));
      for (const stream of streams) stream.abort();
      await gaugeReaches(STREAMS, 0);
    }, 20_000);
  }

  it("frees the slots of streams that end because the token expired", async () => {
    const expiring = await test.as("cap-expiry", "connect-h2", 1);
    const streams = [];
    for (let index = 0; index < LIMIT; index++) streams.push(await openStream(expiring));
    for (const stream of streams) {
      const error = await stream.ended;
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.Unauthenticated);
    }
    await gaugeReaches(STREAMS, 0);

    const fresh = await test.as("cap-expiry");
    const reopened = [];
    for (let index = 0; index < LIMIT; index++) reopened.push(await openStream(fresh));
    for (const stream of reopened) stream.abort();
    await gaugeReaches(STREAMS, 0);
  }, 20_000);
});
