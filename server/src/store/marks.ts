/** Checks on delivered and read marks that both stores apply before changing anything. */
import { conversationNotFound, fieldInvalid, markAboveLastSeq } from "../rpc/errors.js";
import type { AcknowledgeInput } from "./types.js";
import type { MemberRow } from "./views.js";

export type Mark = AcknowledgeInput["marks"][number];

/** The stored state a mark is checked against: the conversation's last seq and the user's member row. */
export interface MarkTarget {
  lastSeq: number;
  member: MemberRow;
}

/**
 * Checks every mark in input order and returns each with its member row.
 * Throws invalid_argument for a conversation that repeats an earlier mark
 * or for a mark above the conversation's last seq, and not_found when
 * `lookup` returns undefined (no such conversation, or the user is not a
 * member). Callers change nothing until this returns, so a bad mark
 * applies nothing.
 */
export function checkMarks(
  marks: readonly Mark[],
  lookup: (conversationId: string) => MarkTarget | undefined,
): Array<{ mark: Mark; member: MemberRow }> {
  const seen = new Set<string>();
  return marks.map((mark, index) => {
    const field = `marks[${index}]`;
    if (seen.has(mark.conversationId)) {
      throw fieldInvalid(
        `${field}.conversation_id`,
        `${field}.conversation_id repeats a conversation of an earlier mark; send one mark per conversation`,
      );
    }
    seen.add(mark.conversationId);
    const target = lookup(mark.conversationId);
    if (target === undefined) throw conversationNotFound(`${field}.conversation_id`);
    for (const [name, value] of [
      ["delivered_seq", mark.deliveredSeq],
      ["read_seq", mark.readSeq],
    ] as const) {
      if (value > target.lastSeq) throw markAboveLastSeq(`${field}.${name}`, value, target.lastSeq);
    }
    return { mark, member: target.member };
  });
}
