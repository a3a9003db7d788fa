import { connect } from "node:net";

/**
 * Returns undefined when the Redis server at `redisUrl` replies PONG to PING
 * within `timeoutMs`, or the reason it does not. Sends nothing else, so
 * it works without credentials only where the server requires none.
 */
export function checkRedis(redisUrl: string, timeoutMs = 2_000): Promise<string | undefined> {
  const url = new URL(redisUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || 6379);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = "";
    const done = (failure: string | undefined) => {
      socket.destroy();
      resolve(failure);
    };
    socket.setTimeout(timeoutMs, () => done(`no PONG within ${timeoutMs} ms`));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("latin1");
      if (!reply.includes("\r\n")) return;
      done(reply.startsWith("+PONG") ? undefined : `PING returned ${JSON.stringify(reply.trim())}`);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => done(`${host}:${port}: ${error.code ?? error.message}`));
  });
}
