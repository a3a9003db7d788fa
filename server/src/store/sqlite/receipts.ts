/** Delivered and read marks, and device cursors, in the SQLite store. */
import { conversationNotFound, fieldInvalid, markAboveLastSeq } from "../../rpc/errors.js";
import type { AcknowledgeInput, StoredMarks } from "../types.js";
import { encodeReceiptEvent, type ConversationRow, type MemberRow } from "../views.js";
import { appendEvent } from "./event-log.js";
import type { Statements } from "./statements.js";
import type { WriteContext } from "./write-queue.js";

export function acknowledge(
  statements: Statements,
  context: WriteContext,
  input: AcknowledgeInput,
): StoredMarks[] {
  const now = Date.now();
  // Check every mark before changing anything, so a bad mark applies nothing.
  const seen = new Set<string>();
  const checked = input.marks.map((mark, index) => {
    const field = `marks[${index}]`;
    if (seen.has(mark.conversationId)) {
      throw fieldInvalid(
        `${field}.conversation_id`,
        `${field}.conversation_id repeats a conversation of an earlier mark; send one mark per conversation`,
      );
    }
    seen.add(mark.conversationId);
    const conversation = statements.conversationById.get(mark.conversationId) as ConversationRow | undefined;
    const member = statements.member.get(mark.conversationId, input.userId) as MemberRow | undefined;
    if (conversation === undefined || member === undefined) throw conversationNotFound(`${field}.conversation_id`);
    for (const [name, value] of [
      ["delivered_seq", mark.deliveredSeq],
      ["read_seq", mark.readSeq],
    ] as const) {
      if (value > conversation.last_seq) {
        throw markAboveLastSeq(`${field}.${name}`, value, conversation.last_seq);
      }
    }
    return { mark, member };
  });

  const stored = checked.map(({ mark, member }) => {
    const readSeq = Math.max(member.read_seq, mark.readSeq);
    const deliveredSeq = Math.max(member.delivered_seq, mark.deliveredSeq, readSeq);
    if (readSeq === member.read_seq && deliveredSeq === member.delivered_seq) {
      return { conversationId: mark.conversationId, deliveredSeq, readSeq };
    }
    const unread =
      readSeq === member.read_seq
        ? member.unread_count
        : (statements.countUnread.get(
            mark.conversationId,
            Math.max(readSeq, member.joined_after_seq),
            input.userId,
          ) as number);
    statements.updateMarks.run(deliveredSeq, readSeq, unread, mark.conversationId, input.userId);
    const payload = encodeReceiptEvent(mark.conversationId, input.userId, deliveredSeq, readSeq);
    for (const userId of statements.memberIdsOf.all(mark.conversationId) as string[]) {
      appendEvent(statements, context, userId, payload, now);
    }
    return { conversationId: mark.conversationId, deliveredSeq, readSeq };
  });

  if (input.cursorPosition !== undefined) {
    statements.raiseDeviceCursor.run(input.userId, input.deviceId, input.cursorPosition, now);
  }
  return stored;
}
