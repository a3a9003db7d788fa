/**
 * Runs one broken variant of the reference server (see server-variants.ts)
 * as a process, for startServerProcess's `script` option:
 *
 *   node --import tsx server-variant-main.ts --variant seq-gap --port 0 --data-dir DIR [server flags]
 *
 * It takes the launcher's flags and the numeric flags scenarios pass
 * (`--heartbeat-ms`, `--rate-limit`, ...), reads the HS256 secret from
 * CHATWIRE_JWT_SECRET like chatwire-server, logs with pino on stdout and
 * stops on SIGTERM or SIGINT.
 */
import { parseArgs } from "node:util";

import { startServer, type ServerOptions } from "@chatwire/server";
import { pino } from "pino";

import { SERVER_VARIANTS, serverVariantOptions, type ServerVariant } from "./server-variants.js";

/** chatwire-server flags that take a whole number, and the option each sets. */
const NUMERIC_FLAGS = {
  port: "port",
  "heartbeat-ms": "heartbeatMs",
  "rate-limit": "rateLimit",
  "max-message-bytes": "maxMessageBytes",
  "max-members": "maxMembers",
  "max-page-size": "maxPageSize",
  "default-page-size": "defaultPageSize",
  "max-long-poll-ms": "maxLongPollMs",
  "max-streams-per-user": "maxStreamsPerUser",
  "retention-seconds": "retentionSeconds",
} as const satisfies Record<string, keyof ServerOptions>;

function parseOptions(args: string[]): { variant: ServerVariant; options: ServerOptions } {
  const numeric = Object.fromEntries(Object.keys(NUMERIC_FLAGS).map((flag) => [flag, { type: "string" as const }]));
  const { values } = parseArgs({
    args,
    options: { variant: { type: "string" }, host: { type: "string" }, "data-dir": { type: "string" }, ...numeric },
    strict: true,
    allowPositionals: false,
  });
  const variant = values.variant as ServerVariant | undefined;
  if (variant === undefined || !SERVER_VARIANTS.includes(variant)) {
    throw new Error(`--variant is ${JSON.stringify(values.variant)}; use one of ${SERVER_VARIANTS.join(", ")}`);
  }
  const options: ServerOptions = { jwtSecret: process.env.CHATWIRE_JWT_SECRET };
  if (typeof values.host === "string") options.host = values.host;
  if (typeof values["data-dir"] === "string") options.dataDir = values["data-dir"];
  for (const [flag, option] of Object.entries(NUMERIC_FLAGS)) {
    const text = (values as Record<string, string | undefined>)[flag];
    if (typeof text !== "string") continue;
    const value = Number(text);
    if (!Number.isInteger(value)) throw new Error(`--${flag} is ${JSON.stringify(text)}; use a whole number`);
    options[option] = value;
  }
  return { variant, options };
}

async function main(): Promise<void> {
  const logger = pino({ level: "info" });
  const { variant, options } = parseOptions(process.argv.slice(2));
  const server = await startServer({ ...options, ...serverVariantOptions(variant, options), logger });
  logger.info({ variant, url: server.url }, "broken server variant running");

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, variant }, "stopping the broken server variant");
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`server variant: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
