// Runs every end-to-end scenario on the Node runtime, each against its own
// chatwire-server process on an ephemeral port, with SQLite files in temp
// folders. Build the workspace first (`npm run build`): the server runs from
// server/dist and the SDK packages resolve to their dist folders.
import { afterAll, beforeAll, describe, it } from "vitest";

import { createNodeRuntime } from "../src/runtimes/node.js";
import type { ClientRuntime } from "../src/runtimes/types.js";
import { runScenario } from "../src/scenarios/harness.js";
import { scenarios } from "../src/scenarios/index.js";

const verbose = process.env.CHATWIRE_SCENARIO_LOG === "1";

describe("scenarios › node runtime", () => {
  let runtime: ClientRuntime;

  beforeAll(async () => {
    runtime = await createNodeRuntime();
  });

  afterAll(async () => {
    await runtime?.close();
  });

  for (const scenario of scenarios) {
    it(
      `${scenario.id} ${scenario.title} [${scenario.guarantees.map((g) => g.split(" ")[0]).join(", ")}]`,
      async () => {
        await runScenario(scenario, runtime, verbose ? { log: (line) => console.log(line) } : {});
      },
      scenario.timeoutMs,
    );
  }
});
