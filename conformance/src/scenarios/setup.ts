/** Setup steps several scenarios share: the proxies and server they require, and the clients they start. */
import assert from "node:assert/strict";

import type { FaultProxy } from "../net/fault-proxy.js";
import type { RpcProxy } from "../net/rpc-proxy.js";
import type { RuntimeClient } from "../runtimes/types.js";
import type { ScenarioContext, ServerControl } from "./types.js";

/** SDK backoff from 100 ms up to 1 s, so clients reconnect quickly after a cut or a server restart. */
export const QUICK_RECONNECT = { backoffBaseMs: 100, backoffCapMs: 1_000 } as const;

/** SDK tuning that sends receipts after 50 ms, for scenarios that check read marks. */
export const QUICK_RECEIPTS = { receiptDebounceMs: 50 } as const;

/** Returns the RPC proxy a scenario declared with `rpcProxy: true`. */
export function requireRpcProxy(context: ScenarioContext): RpcProxy {
  assert.ok(context.rpcProxy, "this scenario needs the RPC proxy");
  return context.rpcProxy;
}

/** Returns the fault proxy a scenario declared with `proxy: true`. */
export function requireFaultProxy(context: ScenarioContext): FaultProxy {
  assert.ok(context.proxy, "this scenario needs the fault proxy");
  return context.proxy;
}

/** Returns the server control a scenario declared with `restartsServer: true`. */
export function requireServerControl(context: ScenarioContext): ServerControl {
  assert.ok(context.server, "this scenario restarts the server");
  return context.server;
}

/** Starts alice's "main" client connected through the proxy at `proxyUrl`, with `tuning` when given. */
export function startAliceBehindProxy(
  context: ScenarioContext,
  proxyUrl: string,
  tuning?: Record<string, unknown>,
): Promise<RuntimeClient> {
  return context.runtime.createClient(context.clientOptions("alice", "main", { baseUrl: proxyUrl, tuning }));
}

/** Starts the "main" clients of alice and bob, both straight to the server with the same tuning. */
export async function startAliceAndBob(
  context: ScenarioContext,
  tuning: Record<string, unknown>,
): Promise<{ alice: RuntimeClient; bob: RuntimeClient }> {
  const alice = await context.runtime.createClient(context.clientOptions("alice", "main", { tuning }));
  const bob = await context.runtime.createClient(context.clientOptions("bob", "main", { tuning }));
  return { alice, bob };
}

/** Starts alice's phone and laptop and bob's "main" client, all with the same tuning. */
export async function startAliceDevicesAndBob(
  context: ScenarioContext,
  tuning?: Record<string, unknown>,
): Promise<{ phone: RuntimeClient; laptop: RuntimeClient; bob: RuntimeClient }> {
  const phone = await context.runtime.createClient(context.clientOptions("alice", "phone", { tuning }));
  const laptop = await context.runtime.createClient(context.clientOptions("alice", "laptop", { tuning }));
  const bob = await context.runtime.createClient(context.clientOptions("bob", "main", { tuning }));
  return { phone, laptop, bob };
}

/** Anyone who can open a direct conversation: a protocol user or a client runtime. */
interface DirectCreator {
  createDirect(otherUserId: string): Promise<string>;
}

/**
 * Has `creator` open a direct conversation with `client`'s user, then waits
 * until `client` stores the conversation and reports "connected", so the
 * next step starts on a live stream. Returns the conversation id.
 */
export async function openDirectUntilConnected(creator: DirectCreator, client: RuntimeClient, waitMs: number): Promise<string> {
  const conversationId = await creator.createDirect(client.userId);
  await client.waitFor({ kind: "conversation", conversationId }, waitMs);
  await client.waitFor({ kind: "connection", state: "connected" }, waitMs);
  return conversationId;
}

/**
 * Has `sender` open a direct conversation with `client`'s user and send
 * `text`, then waits until `client` stores that message and reports
 * "connected". Returns the conversation id.
 */
export async function openDirectWithMessage(
  sender: DirectCreator & { send(conversationId: string, text: string): Promise<unknown> },
  client: RuntimeClient,
  text: string,
  waitMs: number,
): Promise<string> {
  const conversationId = await sender.createDirect(client.userId);
  await sender.send(conversationId, text);
  await client.waitFor({ kind: "stored", conversationId, count: 1 }, waitMs);
  await client.waitFor({ kind: "connection", state: "connected" }, waitMs);
  return conversationId;
}
