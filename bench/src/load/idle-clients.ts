// Load generator for the memory benchmark: many idle clients, each with its
// own HTTP/2 connection and one open Subscribe stream. Runs as a child of
// bench/dist/src/run.js, which measures the server while they are held open.
import { serveRunner } from "./channel.js";
import { connectUser, type UserConnection } from "./rpc.js";

export interface IdleClientsConfig {
  baseUrl: string;
  clients: Array<{ userId: string; token: string }>;
  /** Clients opened concurrently; the next batch starts when every stream of this one is open. */
  batchSize: number;
  /** How long one batch may take to open, in ms. */
  batchTimeoutMs: number;
}

export interface IdleClientsReady {
  opened: number;
}

export interface IdleClientsResult {
  opened: number;
  /** Streams that ended while they should have stayed open. */
  droppedWhileHeld: number;
  firstDropError: string | undefined;
}

interface IdleClient {
  connection: UserConnection;
  abort: AbortController;
}

serveRunner<IdleClientsConfig>(async (config, channel): Promise<IdleClientsResult> => {
  const clients: IdleClient[] = [];
  const drops = { count: 0, first: undefined as string | undefined };

  try {
    for (let start = 0; start < config.clients.length; start += config.batchSize) {
      const batch = config.clients.slice(start, start + config.batchSize);
      const opening = batch.map((identity) => openIdleClient(config.baseUrl, identity, clients, drops));
      await withTimeout(Promise.all(opening), config.batchTimeoutMs, `clients ${start} to ${start + batch.length - 1}`);
      if ((start / config.batchSize) % 10 === 9) channel.progress(`${clients.length} streams open`);
    }
    channel.ready({ opened: clients.length } satisfies IdleClientsReady);
    await channel.closeRequested;
    return { opened: clients.length, droppedWhileHeld: drops.count, firstDropError: drops.first };
  } finally {
    for (const client of clients) {
      client.abort.abort();
      client.connection.close();
    }
  }
});

/** Opens a connection and a Subscribe stream, and resolves at the stream's first frame (a heartbeat). */
function openIdleClient(
  baseUrl: string,
  identity: { userId: string; token: string },
  clients: IdleClient[],
  drops: { count: number; first: string | undefined },
): Promise<void> {
  const connection = connectUser(baseUrl, identity.token);
  const abort = new AbortController();
  clients.push({ connection, abort });

  return new Promise<void>((resolve, reject) => {
    let opened = false;
    (async () => {
      const stream = connection.chat.subscribe({ cursor: "", deviceId: `idle-${identity.userId}` }, { signal: abort.signal });
      for await (const _frame of stream) {
        opened = true;
        resolve();
      }
      throw new Error(`Subscribe stream of ${identity.userId} ended without an error`);
    })().catch((error: unknown) => {
      if (abort.signal.aborted) return;
      if (!opened) {
        reject(error);
        return;
      }
      drops.count++;
      drops.first ??= String(error);
    });
  });
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not open within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
