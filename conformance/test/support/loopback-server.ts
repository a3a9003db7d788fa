import { createServer, type Server, type Socket } from "node:net";

/** A TCP server on 127.0.0.1 with the sockets it accepted. */
export interface LoopbackServer {
  server: Server;
  port: number;
  accepted: Socket[];
  /** Destroys every accepted socket and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a TCP server on 127.0.0.1 (`port` 0 lets the OS pick one) that
 * records each accepted socket, ignores its errors and passes it to
 * `onConnection`.
 */
export async function startLoopbackServer(onConnection: (socket: Socket) => void, port = 0): Promise<LoopbackServer> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    accepted.push(socket);
    socket.on("error", () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("loopback test server has no TCP address");
  return {
    server,
    port: address.port,
    accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of accepted) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
