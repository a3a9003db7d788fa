import { readTranscriptFile } from "./transcript-file.js";

/** A text that must round-trip through storage unchanged, with what makes it hard. */
export interface HardText {
  label: string;
  text: string;
}

interface TranscriptLine {
  n: number;
  text: string;
}

/**
 * Returns the content of the transcript fixture, conformance/fixtures/conversation.jsonl:
 * one JSON object per line with the fields `n` and `text`.
 */
export type TranscriptLoader = () => Promise<string>;

/**
 * Reads every text of the shared transcript fixture, plus control characters
 * the transcript lacks. The default loader reads the file with node:fs, and
 * a browser run passes a loader that returns a bundled or served copy.
 */
export async function loadHardTexts(loadTranscript: TranscriptLoader = readTranscriptFile): Promise<HardText[]> {
  const content = await loadTranscript();

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
