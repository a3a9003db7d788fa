import { connect } from "node:http2";

/**
 * Fetches `<url>/metrics` and returns the value of every unlabelled series
 * by metric name. Labelled series are skipped because the benchmarks read
 * process-wide gauges only.
 */
export async function scrapeMetrics(baseUrl: string): Promise<Map<string, number>> {
  const text = await httpGetText(`${baseUrl}/metrics`);
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)/.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) continue;
    values.set(match[1], Number(match[2]));
  }
  return values;
}

/**
 * Returns one gauge from a scrape by its standard name, also when the server
 * registered it with a prefix (prom-client's `prefix` option turns
 * process_resident_memory_bytes into <prefix>process_resident_memory_bytes).
 * Throws naming the metric and the process gauges the server does expose.
 */
export function requireMetric(metrics: Map<string, number>, name: string): number {
  const exact = metrics.get(name);
  if (exact !== undefined && Number.isFinite(exact)) return exact;
  for (const [key, value] of metrics) {
    if (key.endsWith(`_${name}`) && Number.isFinite(value)) return value;
  }
  const names = [...metrics.keys()].filter((key) => /process_|nodejs_/.test(key));
  throw new Error(`metric ${name} is missing from /metrics; the server exposes: ${names.join(", ") || "none"}`);
}

/** GETs `url` over cleartext HTTP/2 (which chatwire and the floor server both speak) and returns the body. */
function httpGetText(url: string): Promise<string> {
  const { origin, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const session = connect(origin);
    const fail = (error: Error) => {
      session.destroy();
      reject(new Error(`GET ${url} failed: ${error.message}`));
    };
    session.on("error", fail);
    session.setTimeout(10_000, () => fail(new Error("no response within 10 s")));
    const request = session.request({ ":method": "GET", ":path": pathname });
    const chunks: Buffer[] = [];
    let status = 0;
    request.on("response", (headers) => (status = Number(headers[":status"])));
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("error", fail);
    request.on("end", () => {
      session.close();
      const body = Buffer.concat(chunks).toString("utf8");
      if (status === 200) resolve(body);
      else reject(new Error(`GET ${url} returned ${status}: ${body.slice(0, 200)}`));
    });
  });
}
