/** A text that must round-trip through storage unchanged, with what makes it hard. */
export interface HardText {
  label: string;
  text: string;
}

interface TranscriptLine {
  n: number;
  text: string;
}

// The file sits at conformance/fixtures; this module runs from
// conformance/src/storage (tests) or conformance/dist/src/storage (built).
const transcriptCandidates = ["../../fixtures/conversation.jsonl", "../../../fixtures/conversation.jsonl"];

/**
 * Reads every text of the shared transcript fixture, plus control characters
 * the transcript lacks.
 *
 * TODO: this reads the file with node:fs; a browser run of the suite needs
 * the transcript served or bundled.
 */
export async function loadHardTexts(): Promise<HardText[]> {
  const { readFile } = await import("node:fs/promises");
  let content: string | undefined;
  for (const candidate of transcriptCandidates) {
    try {
      content = await readFile(new URL(candidate, import.meta.url), "utf8");
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  if (content === undefined) {
    throw new Error(
      `conversation.jsonl not found at ${transcriptCandidates.join(" or ")} relative to ${import.meta.url}`,
    );
  }

  const texts: HardText[] = content
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as TranscriptLine)
    .map((line) => ({ label: `transcript line ${line.n}`, text: line.text }));

  texts.push(
    { label: "control characters", text: "tab\there\nnewline\r\ncrlf \u0001\u001f\u007f end" },
    { label: "leading byte order mark", text: "\uFEFFstarts with a BOM" },
    { label: "line and paragraph separators", text: "a\u2028b\u2029c" },
    { label: "surrounding whitespace", text: "  \t padded \n " },
    { label: "empty text", text: "" },
  );
  return texts;
}

/** A text of at least `bytes` UTF-8 bytes built from the given texts, mixing 1- to 4-byte characters. */
export function largeText(parts: readonly HardText[], bytes: number): string {
  const encoder = new TextEncoder();
  const chunks: string[] = [];
  let size = 0;
  for (let index = 0; size < bytes; index++) {
    const part = parts[index % parts.length]?.text ?? "x";
    chunks.push(part, "\n");
    size += encoder.encode(part).length + 1;
  }
  return chunks.join("");
}
