#!/usr/bin/env node
/** chatwire-conformance: runs the conformance suites from the command line; see `--help`. */
import { main } from "../src/cli/main.js";

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chatwire-conformance: unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
