import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const readmeUrl = new URL("../README.md", import.meta.url);
const indexUrl = new URL("../src/index.ts", import.meta.url);
const tsxLoaderUrl = new URL("../../../node_modules/tsx/dist/loader.mjs", import.meta.url);

describe("README", () => {
  it("usage example runs", { timeout: 30_000 }, async () => {
    const readme = await readFile(readmeUrl, "utf8");
    const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example, "a ```ts block in the README").toBeDefined();
    expect(example).toContain('from "@chatwire/node"');

    const directory = await mkdtemp(join(tmpdir(), "chatwire-readme-"));
    try {
      const script = join(directory, "example.mts");
      await writeFile(script, example!.replace('"@chatwire/node"', JSON.stringify(indexUrl.href)));

      const child = spawn(process.execPath, ["--import", tsxLoaderUrl.href, script], {
        cwd: directory,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      clearTimeout(timer);

      expect(code, output).toBe(0);
      expect(existsSync(join(directory, "alice.db"))).toBe(true);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

