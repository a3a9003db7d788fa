/**
 * Alice reads the same conversation on her phone and her laptop at the
 * same moment, up to different messages (3 and 5 on two devices, then 4 on
 * the phone). Marks only rise, so the highest one wins everywhere: both
 * devices store read mark 5 and count one unread message, the server
 * stores 5, and bob sees messages 1 to 5 read and 6 delivered. A later,
 * lower mark changes nothing.
 */
import assert from "node:assert/strict";

import type { ClientSnapshot } from "../runtimes/types.js";
import { QUICK_RECEIPTS, startAliceDevicesAndBob } from "./setup.js";
import type { Scenario } from "./types.js";

const WAIT_MS = 15_000;
const MESSAGES = 6;
const HIGHEST = 5;

export const readMarkRace: Scenario = {
  id: "S24",
  title: "read marks racing from two devices settle on the highest everywhere",
  profile: "multi-device",
  guarantees: ["G8 receipts and multi-device"],
  timeoutMs: 45_000,

  async run(context) {
    const { phone, laptop, bob } = await startAliceDevicesAndBob(context, QUICK_RECEIPTS);
    try {
      const conversationId = await bob.createDirect("alice");
      const sent: string[] = [];
      for (let i = 1; i <= MESSAGES; i++) sent.push((await bob.send(conversationId, `update ${i}`)).clientMessageId);
      await phone.waitFor({ kind: "unread", conversationId, count: MESSAGES }, WAIT_MS);
      await laptop.waitFor({ kind: "unread", conversationId, count: MESSAGES }, WAIT_MS);

      context.step("both devices mark read at once: 3 and 5, then 4");
      await Promise.all([
        phone.markRead(conversationId, 3).then(() => phone.markRead(conversationId, 4)),
        laptop.markRead(conversationId, HIGHEST),
      ]);

      const settled = MESSAGES - HIGHEST;
      for (const [name, device] of [
        ["phone", phone],
        ["laptop", laptop],
      ] as const) {
        const state = await device.waitFor({ kind: "unread", conversationId, count: settled }, WAIT_MS);
        assert.equal(readMark(state, conversationId), HIGHEST, `the ${name} must store alice's read mark at ${HIGHEST}`);
      }
      const bobState = await bob.waitFor(
        { kind: "status", conversationId, clientMessageId: sent[HIGHEST - 1]!, status: "read" },
        WAIT_MS,
      );
      const statuses = sent.map((id) => bobState.views[conversationId]?.find((item) => item.clientMessageId === id)?.status);
      assert.deepEqual(
        statuses,
        [...Array<string>(HIGHEST).fill("read"), "delivered"],
        `bob must see messages 1 to ${HIGHEST} read and the last one delivered`,
      );
      const server = await context.user("bob").conversations.getConversation({ conversationId });
      const aliceOnServer = server.conversation?.members.find((member) => member.userId === "alice");
      assert.equal(Number(aliceOnServer?.readSeq), HIGHEST, `the server must store alice's read mark at ${HIGHEST}`);

      context.step("a lower mark from the phone lowers nothing");
      await phone.markRead(conversationId, 2);
      await bob.send(conversationId, "update 7");
      for (const device of [phone, laptop]) {
        const state = await device.waitFor({ kind: "unread", conversationId, count: settled + 1 }, WAIT_MS);
        assert.equal(readMark(state, conversationId), HIGHEST, "a lower mark must not lower the stored read mark");
      }
      const serverAfter = await context.user("bob").conversations.getConversation({ conversationId });
      assert.equal(
        Number(serverAfter.conversation?.members.find((member) => member.userId === "alice")?.readSeq),
        HIGHEST,
        "a lower mark must not lower the server's read mark",
      );
    } finally {
      await phone.close();
      await laptop.close();
      await bob.close();
    }
  },
};

function readMark(snapshot: ClientSnapshot, conversationId: string): number | undefined {
  return snapshot.conversations.find((c) => c.conversationId === conversationId)?.marks.alice?.readSeq;
}
