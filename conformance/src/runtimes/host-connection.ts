/**
 * The parent's side of a client host: turns RuntimeClient calls into `call`
 * messages, answers token requests with the parent's `getToken`, and fails
 * every pending call when the host dies. It knows nothing about processes:
 * a runtime hands it a channel (pipes of a child process, a browser page).
 */
import {
  HostCallError,
  type HostMessage,
  type HostMethod,
  type ParentMessage,
} from "./host-protocol.js";
import type {
  ClientEvent,
  ClientHost,
  ClientOptions,
  ClientSnapshot,
  HostExit,
  WaitCondition,
} from "./types.js";

/** A two-way message channel to one host and the means to end it. */
export interface HostChannel {
  write(message: ParentMessage): void;
  /** Registers the one listener for the host's messages. */
  onMessage(listener: (message: HostMessage) => void): void;
  /** Ends the host at once. */
  kill(): Promise<HostExit>;
  /** Resolves when the host has ended. */
  readonly exited: Promise<HostExit>;
  /** Describes the host for error messages ("node host pid 1234"). */
  readonly label: string;
}

interface PendingCall {
  method: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * Sends `init` over the channel and resolves with a ClientHost once the host
 * reports `ready`. Rejects when the host fails to start or stays silent for
 * `readyTimeoutMs`.
 */
export async function connectHost(
  channel: HostChannel,
  options: ClientOptions,
  storagePath: string,
  readyTimeoutMs: number,
): Promise<ClientHost> {
  const pending = new Map<number, PendingCall>();
  let nextId = 1;
  let exitInfo: HostExit | undefined;
  let onReady: ((error?: Error) => void) | undefined;

  const ready = new Promise<void>((resolve, reject) => {
    onReady = (error) => (error ? reject(error) : resolve());
  });

  channel.onMessage((message) => {
    switch (message.type) {
      case "ready":
        onReady?.();
        return;
      case "fatal":
        onReady?.(new Error(`${channel.label} failed to start: ${message.error.message}`));
        return;
      case "result":
      case "error": {
        const call = pending.get(message.id);
        if (!call) return;
        pending.delete(message.id);
        if (message.type === "result") call.resolve(message.value);
        else call.reject(new HostCallError(call.method, message.error));
        return;
      }
      case "token-request":
        options.getToken({ reason: message.reason }).then(
          (token) => channel.write({ type: "token", id: message.id, token }),
          (error: unknown) =>
            channel.write({ type: "token-error", id: message.id, message: String(error) }),
        );
        return;
    }
  });

  void channel.exited.then((exit) => {
    exitInfo = exit;
    const reason = `${channel.label} exited (code ${exit.code}, signal ${exit.signal})`;
    onReady?.(new Error(`${reason} before it was ready`));
    for (const call of pending.values()) call.reject(new Error(`${call.method}: ${reason}`));
    pending.clear();
  });

  const { getToken: _getToken, ...rest } = options;
  channel.write({ type: "init", options: { ...rest, storagePath } });

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${channel.label} did not report ready within ${readyTimeoutMs} ms`)),
      readyTimeoutMs,
    );
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (error) {
    await channel.kill();
    throw error;
  } finally {
    clearTimeout(timer);
  }

  function call<T>(method: HostMethod, ...params: unknown[]): Promise<T> {
    if (exitInfo) {
      return Promise.reject(new Error(`${method}: ${channel.label} has exited (signal ${exitInfo.signal})`));
    }
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject });
      channel.write({ type: "call", id, method, params });
    });
  }

  return {
    userId: options.userId,
    exited: channel.exited,
    kill: () => channel.kill(),
    send: (conversationId: string, text: string) => call("send", conversationId, text),
    createDirect: (otherUserId: string) => call("createDirect", otherUserId),
    createGroup: (title: string, memberIds: string[]) => call("createGroup", title, memberIds),
    removeMembers: (conversationId: string, userIds: string[]) =>
      call("removeMembers", conversationId, userIds),
    retry: (clientMessageId: string) => call("retry", clientMessageId),
    markRead: (conversationId: string, seq?: number) =>
      seq === undefined ? call("markRead", conversationId) : call("markRead", conversationId, seq),
    setNetworkAvailable: (available: boolean) => call("setNetworkAvailable", available),
    syncNow: () => call("syncNow"),
    background: () => call("background"),
    foreground: () => call("foreground"),
    wake: (deadlineMs: number) => call("wake", deadlineMs),
    snapshot: () => call<ClientSnapshot>("snapshot"),
    waitFor: (condition: WaitCondition, timeoutMs: number) =>
      call<ClientSnapshot>("waitFor", condition, timeoutMs),
    events: () => call<ClientEvent[]>("events"),
    close: async () => {
      await call("close");
      await channel.exited;
    },
  };
}
