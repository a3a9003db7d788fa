/** Delivered and read marks, and device cursors, in the SQLite store. */
import { checkMarks } from "../marks.js";
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
  const checked = checkMarks(input.marks, (conversationId) => {
    const conversation = statements.conversationById.get(conversationId) as ConversationRow | undefined;
    const member = statements.member.get(conversationId, input.userId) as MemberRow | undefined;
    return conversation === undefined || member === undefined ? undefined : { lastSeq: conversation.last_seq, member };
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
