// The file sits at conformance/fixtures; this module runs from
// conformance/src/storage (tests) or conformance/dist/src/storage (built).
const transcriptCandidates = ["../../fixtures/conversation.jsonl", "../../../fixtures/conversation.jsonl"];

/**
 * Reads the transcript fixture with node:fs, from the source tree or the
 * built one. This is the default transcript loader of the storage contract.
 */
export async function readTranscriptFile(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  for (const candidate of transcriptCandidates) {
    try {
      return await readFile(new URL(candidate, import.meta.url), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  throw new Error(
    `conversation.jsonl not found at ${transcriptCandidates.join(" or ")} relative to ${import.meta.url}`,
  );
}
