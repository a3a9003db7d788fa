import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const readmeUrl = new URL("../README.md", import.meta.url);
const tsxLoaderUrl = new URL("../../../node_modules/tsx/dist/loader.mjs", import.meta.url);

// The examples run from a temporary folder, where package names do not
// resolve, so each import is pointed at the file it means.
const imports: Record<string, string> = {
  "@chatwire/node": new URL("../src/index.ts", import.meta.url).href,
  "@chatwire/sdk-core": new URL("../../../sdk-core/dist/index.js", import.meta.url).href,
};

async function runExample(example: string): Promise<{ code: number | null; output: string; directory: string }> {
  const directory = await mkdtemp(join(tmpdir(), "chatwire-readme-"));
  let source = example;
  for (const [name, url] of Object.entries(imports)) source = source.replaceAll(`"${name}"`, JSON.stringify(url));
  const script = join(directory, "example.mts");
  await writeFile(script, source);

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
  return { code, output, directory };
}

describe("README", () => {
  it("examples run", { timeout: 60_000 }, async () => {
    const readme = await readFile(readmeUrl, "utf8");
    const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
    expect(examples).toHaveLength(2);

    for (const [index, example] of examples.entries()) {
      const { code, output, directory } = await runExample(example);
      try {
        expect(code, `example ${index + 1}: ${output}`).toBe(0);
        expect(existsSync(join(directory, "alice.db")), `example ${index + 1} storage file`).toBe(true);
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    }
  });
});
