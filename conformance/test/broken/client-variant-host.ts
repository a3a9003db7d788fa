/**
 * A client host process running a broken client variant, for
 * createClientVariantRuntime: `node --import tsx client-variant-host.ts VARIANT`.
 */
import { serveNodeHost } from "../../src/runtimes/node-host-loop.js";
import { startNodeClient } from "../../src/runtimes/node-client.js";
import { CLIENT_VARIANTS, clientVariantCustomization, type ClientVariant } from "./client-variants.js";

const variant = process.argv[2] as ClientVariant | undefined;
if (variant === undefined || !CLIENT_VARIANTS.includes(variant)) {
  process.stderr.write(`client variant host: the variant is ${JSON.stringify(variant)}; use one of ${CLIENT_VARIANTS.join(", ")}\n`);
  process.exit(2);
}
const customization = clientVariantCustomization(variant);
serveNodeHost((spec) => startNodeClient(spec, customization));
