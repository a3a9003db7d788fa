import type { Server } from "node:net";

/**
 * Binds `server` to a port the OS assigns on 127.0.0.1 and returns the port.
 * Rejects with the bind error; `name` (such as "fault proxy") labels the
 * error when the server then reports no TCP address.
 */
export async function listenOnLoopback(server: Server, name: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error(`${name} listener has no TCP address after listen()`);
  return address.port;
}
