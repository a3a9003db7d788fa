/**
 * One order for everyone: concurrent senders in one group get a gapless
 * seq 1..N, each sender keeps its own send order, and every member's log
 * carries the messages in that order.
 */
import assert from "node:assert/strict";

import type { SendMessageResponse } from "@chatwire/gen";

import { WIRE_PROTOCOLS, type ServerCase } from "../types.js";
import { assertConsecutive, messagesIn, positionsOf, readHistory } from "./helpers.js";

const SENDERS = 4;
const MESSAGES_PER_SENDER = 8;

const concurrentSenders: ServerCase = {
  id: "server.order.concurrent-senders",
  title: `${SENDERS} users sending at once into one group get seq 1..N with no gap, the same order for every member`,
  profile: "core",
  guarantees: ["G4 one order for everyone"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const senders = Array.from({ length: SENDERS }, (_, index) => context.user(`sender${index}`));
    const reader = context.user("reader");
    const [owner, ...others] = senders;
    assert.ok(owner !== undefined);
    const conversationId = await owner.createGroup([...others.map((user) => user.userId), reader.userId]);
    const total = SENDERS * MESSAGES_PER_SENDER;

    // Each sender waits for one ack before its next send, as a client does;
    // the senders run at the same time.
    const acks = await Promise.all(
      senders.map(async (sender, senderIndex) => {
        const own: SendMessageResponse[] = [];
        for (let index = 0; index < MESSAGES_PER_SENDER; index++) {
          own.push(await sender.send(conversationId, `sender ${senderIndex} message ${index}`));
        }
        return own;
      }),
    );

    for (const [senderIndex, own] of acks.entries()) {
      const seqs = own.map((response) => Number(response.message?.seq));
      const sorted = [...seqs].sort((a, b) => a - b);
      assert.deepEqual(seqs, sorted, `sender ${senderIndex}'s messages keep its send order`);
    }
    const allSeqs = acks.flat().map((response) => Number(response.message?.seq));
    assertConsecutive("the acknowledged seqs, sorted", [...allSeqs].sort((a, b) => a - b), 1);

    const history = await readHistory(reader, conversationId);
    assert.deepEqual(
      history.map((message) => Number(message.seq)),
      Array.from({ length: total }, (_, index) => index + 1),
      "history holds seq 1..N",
    );
    const ackedIdBySeq = new Map(acks.flat().map((response) => [response.message?.seq, response.message?.messageId]));
    for (const message of history) {
      assert.equal(message.messageId, ackedIdBySeq.get(message.seq), `history seq ${message.seq} is the message acknowledged with it`);
    }

    const historyIds = history.map((message) => message.messageId);
    for (const member of [...senders, reader]) {
      const { events } = await member.syncAll();
      assertConsecutive(`${member.userId}'s log`, positionsOf(events), 1);
      const logged = messagesIn(events, conversationId);
      assert.deepEqual(
        logged.map((message) => message.messageId),
        historyIds,
        `${member.userId}'s log carries every message once, in seq order`,
      );
    }
  },
};

export const orderingCases: readonly ServerCase[] = [concurrentSenders];
