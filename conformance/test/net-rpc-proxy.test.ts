// The RPC proxy against a real chatwire-server process, driven by Connect
// clients over HTTP/2 and HTTP/1.1. Build the server first (`npm run build`).
import { setTimeout as sleep } from "node:timers/promises";

import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ChatService, SubscribeResponseSchema, type SubscribeResponse } from "@chatwire/gen";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { startRpcProxy, type RpcProxy } from "../src/net/index.js";
import { protocolUser, uuidv7, type ProtocolUser } from "../src/scenarios/protocol.js";
import { startServerProcess, type ServerProcess } from "../src/server-process.js";

let server: ServerProcess;
beforeAll(async () => {
  server = await startServerProcess({ args: ["--heartbeat-ms", "200", "--rate-limit", "0"] });
});
afterAll(async () => {
  await server?.stop();
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let pairs = 0;

/**
 * Starts a proxy and a new pair of users with a direct conversation: alice
 * calls through the proxy, bob (`direct`) calls the server itself.
 */
async function setUp(): Promise<{ proxy: RpcProxy; alice: ProtocolUser; direct: ProtocolUser; conversationId: string }> {
  const proxy = await startRpcProxy({ target: { host: "127.0.0.1", port: server.port } });
  cleanups.push(() => proxy.close());
  pairs += 1;
  const [aliceId, bobId] = [`alice-${pairs}`, `bob-${pairs}`];
  const direct = protocolUser(server.url, bobId, () => server.token(bobId));
  const alice = protocolUser(proxy.url, aliceId, () => server.token(aliceId));
  const conversationId = await direct.createDirect(aliceId);
  return { proxy, alice, direct, conversationId };
}

/** Creates a ChatService client for `userId` over HTTP/1.1. */
function http1Chat(baseUrl: string, userId: string) {
  const authorize: Interceptor = (next) => async (request) => {
    request.header.set("Authorization", `Bearer ${await server.token(userId)}`);
    return next(request);
  };
  return createClient(ChatService, createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [authorize] }));
}

/** Opens a Subscribe stream of `user` that records its frames until the test's cleanup aborts it. */
function subscribe(user: ProtocolUser) {
  const frames: SubscribeResponse[] = [];
  const abort = new AbortController();
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const frame of user.chat.subscribe({ cursor: "", deviceId: "proxy-test" }, { signal: abort.signal })) {
        frames.push(frame);
      }
    } catch (error) {
      if (!abort.signal.aborted) failure = error;
    }
  })();
  cleanups.push(async () => {
    abort.abort();
    await done;
  });
  return {
    frames,
    texts: () =>
      frames.flatMap((frame) =>
        frame.kind.case === "batch"
          ? frame.kind.value.events.flatMap((event) => (event.kind.case === "message" ? [event.kind.value.message?.text ?? ""] : []))
          : [],
      ),
    failure: () => failure,
  };
}

async function waitFor(condition: () => boolean, description: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await sleep(10);
  }
}

/** Returns a predicate that is true when an encoded SubscribeResponse carries a message with `text`. */
function carriesText(text: string) {
  return (bytes: Uint8Array) => {
    const frame = fromBinary(SubscribeResponseSchema, bytes);
    return (
      frame.kind.case === "batch" &&
      frame.kind.value.events.some((event) => event.kind.case === "message" && event.kind.value.message?.text === text)
    );
  };
}

describe("RPC proxy", () => {
  describe("as a pass-through", () => {
    it("forwards unary calls and streams over HTTP/2", async () => {
      const { proxy, alice, direct, conversationId } = await setUp();
      const stream = subscribe(alice);
      await direct.send(conversationId, "hello through the proxy");
      await waitFor(() => stream.texts().includes("hello through the proxy"), "the message on the stream");

      const history = await alice.history(conversationId);
      expect(history.map((message) => message.text)).toEqual(["hello through the proxy"]);
      const stats = proxy.stats();
      expect(stats.calls["/chatwire.v1.ChatService/GetHistory"]).toBe(1);
      expect(stats.openCalls["/chatwire.v1.ChatService/Subscribe"]).toBe(1);
      expect(stats.connectionsOpen).toBe(1);
    });

    it("forwards calls over HTTP/1.1", async () => {
      const { proxy, alice, conversationId } = await setUp();
      const chat = http1Chat(proxy.url, alice.userId);
      const response = await chat.sendMessage({ conversationId, clientMessageId: uuidv7(), text: "over http/1.1", deviceId: "h1" });
      expect(response.message?.text).toBe("over http/1.1");
      expect(proxy.stats().calls["/chatwire.v1.ChatService/SendMessage"]).toBe(1);
    });

    it("rejects a target that is not loopback", async () => {
      await expect(startRpcProxy({ target: { host: "10.0.0.1", port: 80 } })).rejects.toThrow(/not a loopback address/);
    });
  });

  describe("dropResponses", () => {
    it("lets the server commit and fails the call", async () => {
      const { proxy, alice, direct, conversationId } = await setUp();
      const dropped = proxy.dropResponses("SendMessage");
      const clientMessageId = uuidv7();

      const error = await alice.chat
        .sendMessage({ conversationId, clientMessageId, text: "committed, unanswered", deviceId: "a1" })
        .then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
      expect(error?.code).toBe(Code.Internal);
      expect(await dropped).toEqual([200]);

      const history = await direct.history(conversationId);
      expect(history.map((message) => message.clientMessageId)).toEqual([clientMessageId]);
      expect(proxy.stats().responsesDropped).toBe(1);
    });

    it("drops only the counted calls of the procedure", async () => {
      const { proxy, alice, conversationId } = await setUp();
      void proxy.dropResponses("SendMessage", 1);
      await alice.send(conversationId, "first").catch(() => undefined);
      const history = await alice.history(conversationId);
      const second = await alice.send(conversationId, "second");
      expect(history).toHaveLength(1);
      expect(second.text).toBe("second");
    });

    it("fails the call over HTTP/1.1 by closing the connection", async () => {
      const { proxy, alice, conversationId } = await setUp();
      const dropped = proxy.dropResponses("SendMessage");
      const chat = http1Chat(proxy.url, alice.userId);
      await expect(
        chat.sendMessage({ conversationId, clientMessageId: uuidv7(), text: "lost on http/1.1", deviceId: "h1" }),
      ).rejects.toBeInstanceOf(ConnectError);
      expect(await dropped).toEqual([200]);
    });
  });

  describe("delayResponses", () => {
    it("holds the response and then forwards it", async () => {
      const { proxy, alice, conversationId } = await setUp();
      proxy.delayResponses("SendMessage", 800, 1);
      let settled = false;
      const sending = alice.send(conversationId, "held back").finally(() => (settled = true));

      await sleep(300);
      expect(settled).toBe(false);
      expect((await sending).text).toBe("held back");
      const next = await alice.send(conversationId, "not held");
      expect(next.text).toBe("not held");
    });
  });

  describe("blockResponses", () => {
    it("sends a stream's client nothing while unary calls go on", async () => {
      const { proxy, alice, direct, conversationId } = await setUp();
      proxy.blockResponses("Subscribe");
      const stream = subscribe(alice);
      await direct.send(conversationId, "never seen on the stream");
      await sleep(600);

      expect(stream.frames).toHaveLength(0);
      expect(proxy.stats().openCalls["/chatwire.v1.ChatService/Subscribe"]).toBe(1);
      expect((await alice.history(conversationId)).map((message) => message.text)).toEqual(["never seen on the stream"]);
    });
  });

  describe("silenceOpenCalls", () => {
    it("stops an open stream and keeps its connection working", async () => {
      const { proxy, alice, direct, conversationId } = await setUp();
      const stream = subscribe(alice);
      await waitFor(() => stream.frames.length > 0, "the first heartbeat");

      expect(proxy.silenceOpenCalls("Subscribe")).toBe(1);
      const framesAtSilence = stream.frames.length;
      await direct.send(conversationId, "after the silence");
      await sleep(600);

      expect(stream.frames).toHaveLength(framesAtSilence);
      expect(stream.failure()).toBeUndefined();
      const sent = await alice.send(conversationId, "the connection still works");
      expect(sent.seq).toBe(2n);
      expect(proxy.stats().connectionsOpen).toBe(1);
    });
  });

  describe("dropStreamMessages", () => {
    it("leaves out the matching frame only", async () => {
      const { proxy, alice, direct, conversationId } = await setUp();
      const stream = subscribe(alice);
      await waitFor(() => stream.frames.length > 0, "the first heartbeat");
      const dropped = proxy.dropStreamMessages("Subscribe", carriesText("second"));

      for (const text of ["first", "second", "third"]) await direct.send(conversationId, text);
      await dropped;
      await waitFor(() => stream.texts().includes("third"), "the third message");

      expect(stream.texts()).toEqual(["first", "third"]);
      expect(proxy.stats().messagesDropped).toBe(1);
    });
  });

  describe("delayStreamMessages", () => {
    it("holds each frame and keeps their order", async () => {
      const { proxy, alice, direct, conversationId } = await setUp();
      const stream = subscribe(alice);
      await waitFor(() => stream.frames.length > 0, "the first heartbeat");
      proxy.delayStreamMessages("Subscribe", 700);

      for (const text of ["one", "two"]) await direct.send(conversationId, text);
      await sleep(300);
      expect(stream.texts()).toEqual([]);
      await waitFor(() => stream.texts().length === 2, "both messages");
      expect(stream.texts()).toEqual(["one", "two"]);
    });
  });

  describe("reset and close", () => {
    it("reset removes every rule", async () => {
      const { proxy, alice, conversationId } = await setUp();
      void proxy.dropResponses("SendMessage");
      proxy.delayResponses("SendMessage", 10_000);
      proxy.blockResponses("GetHistory");
      proxy.reset();

      expect((await alice.send(conversationId, "plain")).text).toBe("plain");
      expect(await alice.history(conversationId)).toHaveLength(1);
      expect(proxy.stats().responsesDropped).toBe(0);
    });

    it("close ends open calls and connections", async () => {
      const { proxy, alice } = await setUp();
      const stream = subscribe(alice);
      await waitFor(() => stream.frames.length > 0, "the first heartbeat");

      await proxy.close();
      await waitFor(() => stream.failure() !== undefined, "the stream to fail");
      expect(proxy.stats().connectionsOpen).toBe(0);
      expect(proxy.stats().openCalls).toEqual({});
    });
  });
});
