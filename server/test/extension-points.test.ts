import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ChatService } from "@chatwire/gen";
import { afterEach, describe, expect, it } from "vitest";
import type { Store } from "../src/index.js";
import { expectConnectError } from "./support/errors.js";
import { directConversation, send, startTestServer, type TestServer } from "./support/server.js";

let test: TestServer | undefined;
afterEach(async () => {
  await test?.close();
  test = undefined;
});

describe("server extension points", () => {
  it("decorateStore wraps the store the handlers use", async () => {
    const sentTexts: string[] = [];
    let decorated = 0;
    test = await startTestServer({
      decorateStore(store: Store): Store {
        decorated++;
        return {
          ...bindAll(store),
          logEpoch: store.logEpoch,
          async sendMessage(input) {
            sentTexts.push(input.text);
            return store.sendMessage(input);
          },
        };
      },
    });
    const alice = await test.as("alice");
    const id = await directConversation(alice, "bob");
    const sent = await send(alice, id, "through the decorator");

    expect(decorated).toBe(1);
    expect(sentTexts).toEqual(["through the decorator"]);
    expect(sent.message?.seq).toBe(1n);
  });

  it("decorateStore that throws fails the start", async () => {
    const failure = await startTestServer({
      decorateStore() {
        throw new Error("decorator failed");
      },
    }).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe("decorator failed");
  });

  it("interceptors run after authentication, in order", async () => {
    const seen: string[] = [];
    const record =
      (label: string): Interceptor =>
      (next) =>
      async (request) => {
        seen.push(`${label} ${request.method.name} ${request.header.get("authorization") === null ? "anonymous" : "bearer"}`);
        return next(request);
      };
    test = await startTestServer({ interceptors: [record("first"), record("second")] });

    const anonymous = createClient(ChatService, createConnectTransport({ baseUrl: test.url, httpVersion: "1.1" }));
    await expectConnectError(anonymous.getServerInfo({}), Code.Unauthenticated);
    expect(seen).toEqual([]);

    const alice = await test.as("alice", "connect-h1");
    await alice.chat.getServerInfo({});
    expect(seen).toEqual(["first GetServerInfo bearer", "second GetServerInfo bearer"]);
  });

  it("interceptor errors reach the client with their code", async () => {
    const deny: Interceptor = (next) => async (request) => {
      if (request.method.name === "GetHistory") throw new ConnectError("history is switched off", Code.PermissionDenied);
      return next(request);
    };
    test = await startTestServer({ interceptors: [deny] });
    const alice = await test.as("alice", "connect-h1");
    const id = await directConversation(alice, "bob");

    const { error } = await expectConnectError(alice.chat.getHistory({ conversationId: id }), Code.PermissionDenied);
    expect(error.rawMessage).toBe("history is switched off");
    expect((await send(alice, id, "still works")).message?.seq).toBe(1n);
  });
});

/** Copies every method of the store, bound to it, so a decorator can override some of them. */
function bindAll(store: Store): Store {
  const methods = [
    "createConversation",
    "getConversation",
    "listConversations",
    "addMembers",
    "removeMembers",
    "sendMessage",
    "getHistory",
    "acknowledge",
    "recordDeviceCursor",
    "readEvents",
    "logBounds",
    "pruneEvents",
    "close",
  ] as const satisfies ReadonlyArray<keyof Store>;
  const bound = { logEpoch: store.logEpoch } as Record<string, unknown>;
  for (const name of methods) bound[name] = (store[name] as (...args: unknown[]) => unknown).bind(store);
  return bound as unknown as Store;
}
