import { createServer } from "node:net";

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago.
 *
 * The OS picks the port for a listener that is closed again at once, so
 * another process may take it before the caller binds it. Callers that spawn
 * a server on it retry with a new port when the bind fails.
 */
export function pickFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = address !== null && typeof address === "object" ? address.port : 0;
      server.close(() => {
        if (port === 0) reject(new Error("the OS assigned no TCP port on 127.0.0.1"));
        else resolve(port);
      });
    });
  });
}
