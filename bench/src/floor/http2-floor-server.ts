// A bare node:http2 server that responds to every POST with an endless
// Connect server-stream carrying one empty message, and serves the same
// memory gauges as chatwire's /metrics. The memory benchmark runs the same
// idle clients against it to measure what Node's HTTP/2 stack alone costs
// per connection, the floor under any Node server with one HTTP/2
// connection per client.
import { createServer } from "node:http2";

/** A Connect envelope: flags 0, length 0, so an empty SubscribeResponse. */
const EMPTY_MESSAGE = Buffer.alloc(5);

let openStreams = 0;
const server = createServer();
server.on("stream", (stream, headers) => {
  stream.on("error", () => {});
  if (headers[":method"] === "GET" && headers[":path"] === "/metrics") {
    const memory = process.memoryUsage();
    stream.respond({ ":status": 200, "content-type": "text/plain; version=0.0.4" });
    stream.end(
      `process_resident_memory_bytes ${memory.rss}\n` +
        `nodejs_heap_size_used_bytes ${memory.heapUsed}\n` +
        `chatwire_subscribe_streams_open ${openStreams}\n`,
    );
    return;
  }
  openStreams++;
  stream.on("close", () => openStreams--);
  stream.respond({ ":status": 200, "content-type": "application/connect+proto" });
  stream.write(EMPTY_MESSAGE);
});

// The memory benchmark sends SIGUSR2 before each scrape (node --expose-gc).
process.on("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.());
process.on("SIGTERM", () => process.exit(0));

const port = Number(process.argv[2]);
server.listen(port, "127.0.0.1", () => console.log(`listening on 127.0.0.1:${port}`));
