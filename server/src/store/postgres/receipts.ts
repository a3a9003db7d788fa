/** Delivered and read marks, and device cursors, in the PostgreSQL store. */
import { checkMarks } from "../marks.js";
import type { AcknowledgeInput, StoredMarks } from "../types.js";
import { encodeReceiptEvent, type MemberRow } from "../views.js";
import { query } from "./event-log.js";
import { isStorableId } from "./rows.js";
import type { Transaction } from "./transaction.js";

// TODO: one mark with a cursor costs 8 round trips, from BEGIN to COMMIT.
// A server-side function like send_message would make it one.
export async function acknowledge(transaction: Transaction, input: AcknowledgeInput): Promise<StoredMarks[]> {
  const { client, statements } = transaction;
  const now = Date.now();
  const conversationIds = [...new Set(input.marks.map((mark) => mark.conversationId))].filter(isStorableId);
  // Conversation rows first, then the user's member rows, each in
  // conversation id order. The shared conversation locks keep members from
  // being added or removed until this commits, so the receipts below reach
  // exactly the current members. The member row locks make two
  // acknowledgements of one user run one after the other, and a send that
  // raises unread_count meanwhile either commits first or waits.
  const seqRows = await query<{ conversation_id: string; last_seq: number }>(client, statements.shareConversations, [
    conversationIds,
  ]);
  const memberRows = await query<MemberRow & { conversation_id: string }>(client, statements.lockMembersOfUser, [
    conversationIds,
    input.userId,
  ]);
  const members = new Map(memberRows.map((row) => [row.conversation_id, row]));
  const lastSeqs = new Map(seqRows.map((row) => [row.conversation_id, row.last_seq]));

  // Check every mark, in input order, before changing anything, so a bad mark applies nothing.
  const checked = checkMarks(input.marks, (conversationId) => {
    const lastSeq = lastSeqs.get(conversationId);
    const member = members.get(conversationId);
    return lastSeq === undefined || member === undefined ? undefined : { lastSeq, member };
  });

  const stored: StoredMarks[] = [];
  for (const { mark, member } of checked) {
    const readSeq = Math.max(member.read_seq, mark.readSeq);
    const deliveredSeq = Math.max(member.delivered_seq, mark.deliveredSeq, readSeq);
    stored.push({ conversationId: mark.conversationId, deliveredSeq, readSeq });
    if (readSeq === member.read_seq && deliveredSeq === member.delivered_seq) continue;

    const updated = await query<{ member_ids: string[] }>(client, statements.updateMarks, [
      mark.conversationId,
      input.userId,
      deliveredSeq,
      readSeq,
      readSeq !== member.read_seq,
      Math.max(readSeq, member.joined_after_seq),
    ]);
    const payload = encodeReceiptEvent(mark.conversationId, input.userId, deliveredSeq, readSeq);
    for (const userId of updated[0]?.member_ids ?? []) transaction.appendEvent(userId, payload);
  }

  if (input.cursorPosition !== undefined) {
    await query(client, statements.raiseDeviceCursor, [input.userId, input.deviceId, input.cursorPosition, now]);
  }
  return stored;
}
