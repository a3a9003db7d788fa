/** The demo's transcript printout and the exactly-once, same-order check. */
import type { DemoStoredMessage } from "./toolkit.js";

const WIDTH = 72;

/** Shows a text on one line: escapes newlines and tabs and shortens long ones. */
export function displayText(text: string): string {
  const oneLine = text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\t/g, "\\t");
  const chars = [...oneLine];
  if (chars.length <= WIDTH) return oneLine;
  return `${chars.slice(0, WIDTH - 1).join("")}… (${Buffer.byteLength(text, "utf8").toLocaleString("en-US")} bytes)`;
}

/** Prints the conversation as one side stores it. */
export function printTranscript(messages: readonly DemoStoredMessage[]): void {
  console.log(`\ntranscript as bob's SQLite file stores it (${messages.length} messages):`);
  for (const message of messages) {
    console.log(`  #${String(message.seq).padStart(2)}  ${message.senderId.padEnd(5)}  ${displayText(message.text)}`);
  }
  console.log("");
}

/** The outcome of the check. */
export interface Verdict {
  pass: boolean;
  lines: string[];
}

/**
 * Checks that both sides store exactly the expected messages, once each, in
 * the expected order, with the same seqs and idempotency keys.
 */
export function judge(
  expected: readonly { sender: string; text: string }[],
  alice: readonly DemoStoredMessage[],
  bob: readonly DemoStoredMessage[],
  queuedAtKill: number,
): Verdict {
  const problems: string[] = [];
  for (const [name, stored] of [["alice", alice], ["bob", bob]] as const) {
    if (stored.length !== expected.length) {
      problems.push(`${name} stores ${stored.length} messages; ${expected.length} were sent`);
    }
    const keys = new Set(stored.map((message) => message.clientMessageId));
    if (keys.size !== stored.length) problems.push(`${name} stores a message more than once`);
    expected.forEach((message, i) => {
      const got = stored[i];
      if (!got || got.text !== message.text || got.senderId !== message.sender) {
        problems.push(
          `${name}'s message ${i + 1} is ${got ? `${got.senderId}: ${displayText(got.text)}` : "missing"}; ` +
            `expected ${message.sender}: ${displayText(message.text)}`,
        );
      }
    });
  }
  const sameOrder =
    alice.length === bob.length &&
    alice.every(
      (message, i) => message.seq === bob[i]?.seq && message.clientMessageId === bob[i]?.clientMessageId,
    );
  if (!sameOrder) problems.push("alice and bob do not store the same messages at the same seqs");

  if (problems.length === 0) {
    return {
      pass: true,
      lines: [
        `verdict: PASS: all ${expected.length} messages delivered exactly once, in the same order on both sides,`,
        `         including ${queuedAtKill} that were only in alice's outbox when her process was killed`,
      ],
    };
  }
  return { pass: false, lines: ["verdict: FAIL", ...problems.map((problem) => `  - ${problem}`)] };
}
