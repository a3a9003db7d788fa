/**
 * The loop of a Node client host process: it runs one chatwire client and
 * serves the host protocol, one JSON message a line, on stdin and stdout.
 * The parent kills the process with SIGKILL to simulate a crash. Logs go to
 * stderr so that stdout carries protocol lines only.
 *
 * `node-host.ts` runs it with the runtime's own client; a host script of a
 * customized runtime (see NodeRuntimeOptions.hostScript) passes its own.
 */
import { createInterface } from "node:readline";

import type { TokenRequestContext } from "@chatwire/sdk-core";

import {
  dispatchCall,
  toWireError,
  type HostMessage,
  type ParentMessage,
} from "./host-protocol.js";
import type { NodeClientSpec } from "./node-client.js";
import type { RuntimeClient } from "./types.js";

/** Serves the host protocol on stdin and stdout with clients from `startClient`, until the parent goes away. */
export function serveNodeHost(startClient: (spec: NodeClientSpec) => Promise<RuntimeClient>): void {
  function write(message: HostMessage): void {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  }

  const tokenWaiters = new Map<number, { resolve(token: string): void; reject(error: Error): void }>();
  let nextTokenRequest = 1;

  /** Requests a token from the parent and waits for the reply. */
  function requestToken(context: TokenRequestContext): Promise<string> {
    const id = nextTokenRequest++;
    return new Promise((resolve, reject) => {
      tokenWaiters.set(id, { resolve, reject });
      write({ type: "token-request", id, reason: context.reason });
    });
  }

  let client: RuntimeClient | undefined;
  let starting: Promise<void> | undefined;

  async function handle(message: ParentMessage): Promise<void> {
    switch (message.type) {
      case "init":
        if (starting) throw new Error("init received twice");
        starting = startClient({ ...message.options, getToken: requestToken }).then(
          (started) => {
            client = started;
            write({ type: "ready" });
          },
          (error: unknown) => {
            write({ type: "fatal", error: toWireError(error) });
            process.exit(1);
          },
        );
        return;
      case "token":
        tokenWaiters.get(message.id)?.resolve(message.token);
        tokenWaiters.delete(message.id);
        return;
      case "token-error":
        tokenWaiters.get(message.id)?.reject(new Error(`the host app returned no token: ${message.message}`));
        tokenWaiters.delete(message.id);
        return;
      case "call": {
        if (!client) {
          write({ type: "error", id: message.id, error: { name: "Error", message: "the client is not ready yet" } });
          return;
        }
        try {
          const value = await dispatchCall(client, message.method, message.params);
          write({ type: "result", id: message.id, value });
        } catch (error) {
          write({ type: "error", id: message.id, error: toWireError(error) });
        }
        if (message.method === "close") process.exit(0);
        return;
      }
    }
  }

  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (line.trim() === "") return;
    let message: ParentMessage;
    try {
      message = JSON.parse(line) as ParentMessage;
    } catch {
      process.stderr.write(`node host: ignoring a line that is not JSON: ${line.slice(0, 200)}\n`);
      return;
    }
    handle(message).catch((error: unknown) => {
      process.stderr.write(`node host: ${String(error)}\n`);
    });
  });
  // The parent is gone: nothing will ever ask for the client's state again.
  lines.on("close", () => {
    void (client?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}
