/**
 * Receipts: delivered and read marks only rise, and a read mark raises the
 * delivered mark. A lower mark is ignored without an error. Every change
 * reaches every member's log as a ReceiptEvent, and unread_count counts the
 * messages above the read mark that other users sent.
 */
import assert from "node:assert/strict";

import type { Event } from "@chatwire/gen";

import { WIRE_PROTOCOLS, type ServerCase, type SuiteUser } from "../types.js";

/** A member's marks as "delivered/read", the form the assertions compare. */
type Marks = string;

function marks(delivered: bigint | number, read: bigint | number): Marks {
  return `${delivered}/${read}`;
}

/** Checks `actual` against `expected` with a message that shows both. */
function expectEqual<T extends string | bigint>(label: string, actual: T, expected: T): void {
  assert.equal(actual, expected, `${label}: expected ${expected}, got ${actual}`);
}

/** Sends one mark for `conversationId` and returns the marks in the server's response. */
async function acknowledge(user: SuiteUser, conversationId: string, deliveredSeq: number, readSeq: number): Promise<Marks> {
  const response = await user.chat.acknowledge({
    deviceId: user.deviceId,
    marks: [{ conversationId, deliveredSeq: BigInt(deliveredSeq), readSeq: BigInt(readSeq) }],
  });
  const stored = response.marks.find((mark) => mark.conversationId === conversationId);
  assert.ok(stored !== undefined, `Acknowledge by ${user.userId} answers with the stored mark of the conversation`);
  return marks(stored.deliveredSeq, stored.readSeq);
}

/** Returns `viewer`'s view of the conversation: its unread count and `member`'s marks. */
async function viewOf(viewer: SuiteUser, conversationId: string, member: SuiteUser): Promise<{ unread: bigint; marks: Marks }> {
  const { conversation } = await viewer.conversations.getConversation({ conversationId });
  const entry = conversation?.members.find((candidate) => candidate.userId === member.userId);
  assert.ok(entry !== undefined, `GetConversation by ${viewer.userId} lists ${member.userId} as a member`);
  return { unread: conversation?.unreadCount ?? 0n, marks: marks(entry.deliveredSeq, entry.readSeq) };
}

/** Returns the marks of `userId`'s ReceiptEvents for `conversationId` in `events`, with repeats in a row dropped. */
function receiptsOf(events: readonly Event[], conversationId: string, userId: string): Marks[] {
  const seen: Marks[] = [];
  for (const event of events) {
    if (event.kind.case !== "receipt") continue;
    const receipt = event.kind.value;
    if (receipt.conversationId !== conversationId || receipt.userId !== userId) continue;
    const current = marks(receipt.deliveredSeq, receipt.readSeq);
    if (seen[seen.length - 1] !== current) seen.push(current);
  }
  return seen;
}

const readMarks: ServerCase = {
  id: "server.receipts.marks",
  title: "read and delivered marks only rise, a lower mark is ignored, every member's log gets each change, unread_count follows",
  profile: "multi-device",
  guarantees: ["G8 receipts and multi-device"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const carol = context.user("carol");
    const conversationId = await alice.createGroup([bob.userId, carol.userId]);
    // seq 1-4 by alice, 5 and 6 by carol. Bob sends nothing, so that only
    // Acknowledge moves his marks.
    for (let index = 1; index <= 4; index++) await alice.send(conversationId, `receipt test ${index}`);
    for (let index = 5; index <= 6; index++) await carol.send(conversationId, `receipt test ${index}`);

    expectEqual("read 3 raises the delivered mark to 3 (delivered/read)", await acknowledge(bob, conversationId, 0, 3), marks(3, 3));
    expectEqual("bob's unread_count after reading 3 counts seq 4 to 6", (await viewOf(bob, conversationId, bob)).unread, 3n);

    expectEqual("marks below the stored ones are ignored, not an error", await acknowledge(bob, conversationId, 2, 1), marks(3, 3));
    const aliceView = await viewOf(alice, conversationId, bob);
    expectEqual("alice sees bob's marks unlowered", aliceView.marks, marks(3, 3));
    expectEqual("alice's unread_count counts carol's seq 5 and 6 but not her own messages", aliceView.unread, 2n);

    expectEqual("delivered 5 rises alone, read 0 keeps read 3", await acknowledge(bob, conversationId, 5, 0), marks(5, 3));
    expectEqual("read 6 stores both marks at 6", await acknowledge(bob, conversationId, 6, 6), marks(6, 6));
    expectEqual("bob's unread_count after reading everything", (await viewOf(bob, conversationId, bob)).unread, 0n);

    for (const member of [alice, bob, carol]) {
      const { events } = await member.syncAll();
      expectEqual(
        `${member.userId}'s log carries one ReceiptEvent for each rise of bob's marks, and none that lowers them`,
        receiptsOf(events, conversationId, bob.userId).join(", "),
        [marks(3, 3), marks(5, 3), marks(6, 6)].join(", "),
      );
    }
  },
};

export const receiptCases: readonly ServerCase[] = [readMarks];
