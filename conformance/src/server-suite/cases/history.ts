/**
 * GetHistory paging: each page contains the newest `limit` messages below
 * before_seq in ascending seq, and has_more is true when older ones exist.
 */
import assert from "node:assert/strict";

import { WIRE_PROTOCOLS, type ServerCase, type SuiteUser } from "../types.js";

const MESSAGES = 12;

/** Returns the seqs from `from` to `to` inclusive. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);
}

async function page(user: SuiteUser, conversationId: string, beforeSeq: number, limit: number) {
  const response = await user.chat.getHistory({ conversationId, beforeSeq: BigInt(beforeSeq), limit });
  return { seqs: response.messages.map((message) => Number(message.seq)), hasMore: response.hasMore };
}

const historyPaging: ServerCase = {
  id: "server.history.paging",
  title: "GetHistory pages back by before_seq in ascending seq, with has_more false on the oldest page",
  profile: "core",
  guarantees: ["G4 one order for everyone", "G5 differential sync by cursor"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const alice = context.user("alice");
    const bob = context.user("bob");
    const conversationId = await alice.createDirect(bob.userId);
    for (let index = 1; index <= MESSAGES; index++) await alice.send(conversationId, `history ${index}`);

    // Pages of 5 from the newest: 8..12, 3..7, then 1..2.
    const expectedPages = [
      { beforeSeq: 0, limit: 5, seqs: range(8, 12), hasMore: true },
      { beforeSeq: 8, limit: 5, seqs: range(3, 7), hasMore: true },
      { beforeSeq: 3, limit: 5, seqs: range(1, 2), hasMore: false },
      // Pages of 4 end exactly at seq 1.
      { beforeSeq: 0, limit: 4, seqs: range(9, 12), hasMore: true },
      { beforeSeq: 5, limit: 4, seqs: range(1, 4), hasMore: false },
      // A before_seq past the newest message reads from the newest.
      { beforeSeq: 100, limit: 3, seqs: range(10, 12), hasMore: true },
      { beforeSeq: 1, limit: 3, seqs: [], hasMore: false },
      { beforeSeq: 0, limit: MESSAGES, seqs: range(1, MESSAGES), hasMore: false },
    ];
    for (const expected of expectedPages) {
      if (expected.limit > context.limits.maxPageSize) continue;
      const call = `GetHistory before_seq ${expected.beforeSeq}, limit ${expected.limit}`;
      const actual = await page(bob, conversationId, expected.beforeSeq, expected.limit);
      assert.deepEqual(actual.seqs, expected.seqs, `${call}: seqs`);
      assert.equal(actual.hasMore, expected.hasMore, `${call}: has_more`);
    }

    const byDefault = await page(bob, conversationId, 0, 0);
    assert.ok(byDefault.seqs.length > 0, "limit 0 returns the server's default page size, not nothing");
    assert.deepEqual(byDefault.seqs, range(MESSAGES - byDefault.seqs.length + 1, MESSAGES), "limit 0 returns the newest messages in ascending seq");
    assert.equal(byDefault.hasMore, byDefault.seqs.length < MESSAGES, "limit 0: has_more");
  },
};

export const historyCases: readonly ServerCase[] = [historyPaging];
