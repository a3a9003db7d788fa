/** Turning a case's thrown error or unclaimed profile into the words of a CaseResult. */
import type { Claim, Profile } from "../tags.js";

/** Returns the reason a case of `profile` is skipped: the claim's declared gap, or a plain "not claimed". */
export function unclaimedReason(claim: Claim, profile: Profile): string {
  const gap = claim.gaps.find((entry) => entry.profile === profile);
  return gap ? `profile ${profile} not claimed: ${gap.reason}` : `profile ${profile} not claimed`;
}

/** Splits a thrown value into a one-line reason and the whole failure (message and stack). */
export function describeFailure(error: unknown): { reason: string; detail: string } {
  if (error instanceof Error) {
    const reason = error.message.split("\n", 1)[0] || error.name;
    const stack = error.stack ?? "";
    // V8 stacks start with "Name: message"; keep the message whole when the stack lacks it.
    const detail = stack.includes(error.message) ? stack : `${error.name}: ${error.message}\n${stack}`;
    const cause = error.cause === undefined ? "" : `\ncaused by: ${describeFailure(error.cause).detail}`;
    return { reason, detail: `${detail}${cause}` };
  }
  const text = String(error);
  return { reason: text.split("\n", 1)[0] ?? text, detail: text };
}
