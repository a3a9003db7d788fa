/** The transcript fixture and texts of an exact byte size. */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One line of fixtures/conversation.jsonl. */
export interface TranscriptLine {
  /** Position in the transcript, from 1. */
  n: number;
  /** "direct:alice-bob" or "group:launch". */
  conversation: string;
  sender: string;
  text: string;
}

/** Returns the path of conformance/fixtures/conversation.jsonl, from src/ or dist/src/. */
export function transcriptPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const candidate = join(dir, "fixtures", "conversation.jsonl");
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`fixtures/conversation.jsonl not found above ${fileURLToPath(import.meta.url)}`);
}

/** Reads the transcript in order. */
export async function loadTranscript(): Promise<TranscriptLine[]> {
  const path = transcriptPath();
  const lines = (await readFile(path, "utf8")).split("\n").filter((line) => line.trim() !== "");
  return lines.map((line, index) => {
    const parsed = JSON.parse(line) as Partial<TranscriptLine>;
    if (typeof parsed.text !== "string" || typeof parsed.sender !== "string" || typeof parsed.conversation !== "string") {
      throw new Error(`${path} line ${index + 1} lacks text, sender or conversation`);
    }
    return { n: parsed.n ?? index + 1, conversation: parsed.conversation, sender: parsed.sender, text: parsed.text };
  });
}

/** Tails for the last 0 to 8 bytes, multi-byte where possible ("a" only for a single byte). */
const TAILS = ["", "a", "é", "€", "😀", "é€", "€€", "€😀", "😀😀"];

/**
 * Returns a text of exactly `bytes` UTF-8 bytes made of 2-, 3- and 4-byte
 * characters, so that a server or client that counts UTF-16 code units or
 * characters instead of bytes gets the size wrong.
 */
export function textOfBytes(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1) throw new RangeError(`bytes is ${bytes}; it must be a positive integer`);
  const unit = "😀€é"; // 4 + 3 + 2 = 9 bytes
  const text = unit.repeat(Math.floor(bytes / 9)) + TAILS[bytes % 9];
  const actual = Buffer.byteLength(text, "utf8");
  if (actual !== bytes) throw new Error(`textOfBytes built ${actual} bytes instead of ${bytes}`);
  return text;
}
