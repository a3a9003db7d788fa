// Runs chatwire-conformance as a process, from its TypeScript sources with
// tsx, and checks its exit status, its output and the reports it writes.
// Build the workspace first: the scenarios start server/dist.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startServerProcess, type ServerProcess } from "../src/server-process.js";
import { findAll, parseXml } from "./support/xml.js";

const CLI = fileURLToPath(new URL("../bin/chatwire-conformance.ts", import.meta.url));
const MINT_TOKEN = fileURLToPath(new URL("./mint-token.mjs", import.meta.url));
const VARIANT_SCRIPT = fileURLToPath(new URL("./broken/server-variant-main.ts", import.meta.url));

interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<CliOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let outputDir: string;
beforeAll(async () => {
  outputDir = await mkdtemp(join(tmpdir(), "chatwire-cli-"));
});
afterAll(async () => {
  await rm(outputDir, { recursive: true, force: true });
});

describe("chatwire-conformance", () => {
  describe("server against the reference server", () => {
    let server: ServerProcess;
    beforeAll(async () => {
      server = await startServerProcess();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("exits 0 and writes JUnit and Markdown", async () => {
      const junit = join(outputDir, "server", "junit.xml");
      const markdown = join(outputDir, "server", "summary.md");

      const outcome = await runCli(
        ["server", "--url", server.url, "--name", "reference server", "--protocol", "connect,grpc-web", "--profiles", "core,multi-device"]
          .concat(["--filter", "server.idempotency.", "--junit", junit, "--markdown", markdown]),
        { CHATWIRE_JWT_SECRET: server.jwtSecret },
      );

      expect(outcome.code, outcome.stderr).toBe(0);
      expect(outcome.stdout).toMatch(/^server\.idempotency\.replay \[grpc-web\] .+\s+pass$/m);
      expect(outcome.stdout).toContain("reference server (server): 6 passed, 0 failed, 0 skipped");

      const root = parseXml(await readFile(junit, "utf8"));
      expect(root.attributes).toMatchObject({ tests: "6", failures: "0", skipped: "0" });
      const suites = findAll(root, "testsuite");
      expect(suites.map((suite) => suite.attributes.name)).toEqual(["server: reference server"]);
      const names = findAll(root, "testcase").map((testcase) => testcase.attributes.name);
      expect(names).toContain("server.idempotency.replay [connect] a retry with the same key returns the stored message, replayed, and stores nothing new");
      expect(names.filter((name) => name?.includes("[grpc]"))).toEqual([]);
      const gaps = findAll(suites[0]!, "property").map((property) => property.attributes);
      expect(gaps).toContainEqual({ name: "profiles", value: "core,multi-device" });
      expect(gaps).toContainEqual({ name: "gap.push", value: "the push profile is not in --profiles" });

      const summary = await readFile(markdown, "utf8");
      expect(summary).toContain("| server | reference server | core, multi-device | 6 | 0 | 0 |");
      expect(summary).toMatch(/^\| server\.idempotency\.replay \\\[connect\\\] \| .+ \| core \| G2, G3 \| pass \| {2}\|$/m);
    });

    it("takes tokens from --token-command", async () => {
      const outcome = await runCli(
        ["server", "--url", server.url, "--protocol", "connect", "--filter", "server.idempotency.replay"]
          .concat(["--token-command", `"${process.execPath}" "${MINT_TOKEN}"`]),
        { MINT_TOKEN_SECRET: server.jwtSecret, CHATWIRE_JWT_SECRET: "" },
      );

      expect(outcome.code, outcome.stderr).toBe(0);
      expect(outcome.stdout).toContain(`${server.url} (server): 1 passed, 0 failed, 0 skipped`);
    });

    it("exits 1 when a case fails", async () => {
      const broken = await startServerProcess({ script: VARIANT_SCRIPT, args: ["--variant", "dedupe-off"] });
      const junit = join(outputDir, "failing", "junit.xml");
      let outcome: CliOutcome;
      try {
        outcome = await runCli(
          ["server", "--url", broken.url, "--protocol", "connect", "--filter", "server.idempotency.replay", "--junit", junit],
          { CHATWIRE_JWT_SECRET: broken.jwtSecret },
        );
      } finally {
        await broken.stop();
      }

      expect(outcome.code, outcome.stderr).toBe(1);
      expect(outcome.stderr).toMatch(/^\[1\/1\] FAIL server /m);
      expect(outcome.stdout).toMatch(/^server\.idempotency\.replay \[connect\] .+FAIL \[1\]$/m);
      const failures = findAll(parseXml(await readFile(junit, "utf8")), "failure");
      expect(failures).toHaveLength(1);
      expect(failures[0]!.attributes.message).not.toBe("");
      expect(failures[0]!.text).toContain(failures[0]!.attributes.message);
    });
  });

  describe("client --runtime node", () => {
    it("exits 0 and writes JUnit and Markdown", async () => {
      const junit = join(outputDir, "client", "junit.xml");
      const markdown = join(outputDir, "client", "summary.md");

      const outcome = await runCli(["client", "--runtime", "node", "--filter", "S8", "--junit", junit, "--markdown", markdown]);

      expect(outcome.code, outcome.stderr).toBe(0);
      expect(outcome.stderr).toMatch(/^\[1\/1\] pass client node S8 /m);
      expect(outcome.stdout).toMatch(/^S8 .+\s+pass$/m);
      expect(outcome.stdout).toContain("node (client): 1 passed, 0 failed, 0 skipped");

      const root = parseXml(await readFile(junit, "utf8"));
      expect(root.attributes).toMatchObject({ tests: "1", failures: "0", skipped: "0" });
      const cases = findAll(root, "testcase");
      expect(cases).toHaveLength(1);
      expect(cases[0]!.attributes.name).toMatch(/^S8 /);
      expect(findAll(root, "failure")).toEqual([]);

      const summary = await readFile(markdown, "utf8");
      expect(summary).toContain("| client | node | core, offline, multi-device, multi-node | 1 | 0 | 0 |");
      expect(summary).toMatch(/^\| S8 \| .+ \| core \| G13 \| pass \| {2}\|$/m);
      expect(summary).toContain("- push: no push service delivers wake-ups to a Node process");
    });
  });

  describe("usage errors", () => {
    it("exits 2 naming an unknown flag", async () => {
      const outcome = await runCli(["client", "--runtime", "node", "--no-such-flag"]);

      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toContain("Unknown option '--no-such-flag'");
      expect(outcome.stdout).toBe("");
    });

    it("exits 2 naming a bad protocol", async () => {
      const outcome = await runCli(["server", "--url", "http://127.0.0.1:9", "--jwt-secret", "x".repeat(32), "--protocol", "grpc,http3"]);

      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toContain('--protocol contains "http3"');
    });

    it("exits 2 without a token source", async () => {
      const outcome = await runCli(["server", "--url", "http://127.0.0.1:9"], { CHATWIRE_JWT_SECRET: "" });

      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toContain("no token source");
    });

    it("exits 2 for a runtime that has not landed", async () => {
      for (const runtime of ["browser", "sqlite-wasm"]) {
        const outcome = await runCli(["client", "--runtime", runtime]);

        expect(outcome.code, runtime).toBe(2);
        expect(outcome.stderr).toContain(`the ${runtime} runtime is not available yet`);
        expect(outcome.stderr).not.toMatch(/\n\s+at /);
      }
    });

    it("exits 2 when the filter matches nothing", async () => {
      const outcome = await runCli(["client", "--runtime", "node", "--filter", "no scenario has this title"]);

      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toContain('--filter "no scenario has this title" matches no scenario');
    });

    it("exits 2 before running when a report path is a folder", async () => {
      const outcome = await runCli(["server", "--url", "http://127.0.0.1:9", "--jwt-secret", "x".repeat(32), "--junit", outputDir]);

      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toContain(`--junit ${JSON.stringify(outputDir)} is a folder; give a file path`);
      expect(outcome.stderr).not.toMatch(/\[1\/\d+\]/);
      expect(outcome.stdout).toBe("");
    });

    it("exits 2 before running when a file stands where a report folder goes", async () => {
      const file = join(outputDir, "plain-file");
      await writeFile(file, "");

      const outcome = await runCli(["client", "--runtime", "node", "--filter", "S8", "--markdown", join(file, "summary.md")]);

      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toContain(`cannot be created: ${file} is a file, not a folder`);
      expect(outcome.stderr).not.toMatch(/\n\s+at /);
      expect(outcome.stdout).toBe("");
    });

    it("exits 2 for an unknown command", async () => {
      const outcome = await runCli(["sever"]);

      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toContain('unknown command "sever"');
    });
  });

  describe("--help", () => {
    it("prints each command's options", async () => {
      for (const command of ["server", "client"]) {
        const outcome = await runCli([command, "--help"]);

        expect(outcome.code, command).toBe(0);
        expect(outcome.stdout).toContain(`Usage: chatwire-conformance ${command}`);
        expect(outcome.stdout).toContain("--junit FILE");
      }
    });
  });
});
