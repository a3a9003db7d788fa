/**
 * The Node client host process: serves the host protocol with a client
 * built by startNodeClient. Run as `node node-host.js` (or with
 * `--import tsx` from src/).
 */
import { serveNodeHost } from "./node-host-loop.js";
import { startNodeClient } from "./node-client.js";

serveNodeHost(startNodeClient);
