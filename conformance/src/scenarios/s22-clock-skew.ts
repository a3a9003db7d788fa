/**
 * Alice's device clock runs five hours fast and bob's three hours slow.
 * Their messages interleave; then alice queues messages offline, and her
 * clock is corrected to five hours slow before the app restarts and sends
 * them. Order must follow the server's seq and alice's send() calls, never
 * the clocks: every client_message_id (a UUIDv7 built from the skewed
 * clock) is accepted, both sides store the server's history, and read
 * marks still reach alice.
 */
import assert from "node:assert/strict";

import { assertMatchesServer, assertNoRepeats } from "./checks.js";
import type { Scenario } from "./types.js";

const HOUR_MS = 3_600_000;
const WAIT_MS = 15_000;

export const clockSkew: Scenario = {
  id: "S22",
  title: "clients with clocks hours off keep server order, statuses and accepted ids",
  profile: "core",
  guarantees: ["G4 one order for everyone", "G2 exactly-once effect", "G8 receipts and multi-device"],
  timeoutMs: 60_000,

  async run(context) {
    const fast = { clockOffsetMs: 5 * HOUR_MS, tuning: { receiptDebounceMs: 50 } };
    const aliceOptions = context.clientOptions("alice", "main", fast);
    let alice = await context.runtime.createClient(aliceOptions);
    const bob = await context.runtime.createClient(
      context.clientOptions("bob", "main", { clockOffsetMs: -3 * HOUR_MS, tuning: { receiptDebounceMs: 50 } }),
    );
    try {
      const conversationId = await alice.createDirect("bob");
      await bob.waitFor({ kind: "conversation", conversationId }, WAIT_MS);

      context.step("alice (+5 h) and bob (-3 h) take turns");
      const order: string[] = [];
      const aliceIds: string[] = [];
      for (let turn = 1; turn <= 3; turn++) {
        const fromAlice = `alice ${turn}`;
        const sent = await alice.send(conversationId, fromAlice);
        aliceIds.push(sent.clientMessageId);
        await alice.waitFor({ kind: "status", conversationId, clientMessageId: sent.clientMessageId, status: "sent" }, WAIT_MS);
        const fromBob = `bob ${turn}`;
        const reply = await bob.send(conversationId, fromBob);
        await bob.waitFor({ kind: "status", conversationId, clientMessageId: reply.clientMessageId, status: "sent" }, WAIT_MS);
        order.push(fromAlice, fromBob);
      }
      const idTime = uuidv7Milliseconds(aliceIds[0]!);
      assert.ok(
        idTime - Date.now() > 4 * HOUR_MS,
        `alice's client_message_id must carry her skewed clock; it is ${Math.round((idTime - Date.now()) / 60_000)} min ahead`,
      );

      context.step("alice queues two messages offline, her clock is set back ten hours, and the app restarts");
      await alice.setNetworkAvailable(false);
      for (const text of ["queued before the correction 1", "queued before the correction 2"]) {
        await alice.send(conversationId, text);
        order.push(text);
      }
      await alice.close();
      alice = await context.runtime.createClient({ ...aliceOptions, clockOffsetMs: -5 * HOUR_MS, startOffline: true });
      await alice.send(conversationId, "queued after the correction");
      order.push("queued after the correction");
      await alice.setNetworkAvailable(true);
      await alice.waitFor({ kind: "outbox-drained" }, WAIT_MS);

      const server = await context.user("bob").history(conversationId);
      assert.deepEqual(
        server.map((message) => message.text),
        order,
        "the server must order the messages by arrival and alice's send() calls, not by the clocks",
      );
      const bobState = await bob.waitFor({ kind: "stored", conversationId, count: order.length }, WAIT_MS);
      assertMatchesServer(bobState.stored[conversationId] ?? [], server, "bob");
      const aliceState = await alice.waitFor({ kind: "stored", conversationId, count: order.length }, WAIT_MS);
      assertMatchesServer(aliceState.stored[conversationId] ?? [], server, "alice");
      assert.ok(
        aliceState.outbox.every((entry) => entry.state !== "failed"),
        "the server must accept every client_message_id, however skewed its time",
      );

      context.step("bob reads everything; alice sees her messages read");
      await bob.markRead(conversationId);
      const last = aliceState.views[conversationId]?.at(-1);
      assert.ok(last?.text === "queued after the correction", "alice's view must end with her last message");
      const read = await alice.waitFor(
        { kind: "status", conversationId, clientMessageId: last.clientMessageId, status: "read" },
        WAIT_MS,
      );
      assertNoRepeats(read.views[conversationId] ?? [], "alice's view");
      const shownOrder = (read.views[conversationId] ?? []).map((item) => item.text);
      assert.deepEqual(shownOrder, order, "alice's view must follow the server's order");
    } finally {
      await alice.close();
      await bob.close();
    }
  },
};

/** Returns the Unix milliseconds in the first 48 bits of a UUIDv7 (RFC 9562, section 5.7). */
function uuidv7Milliseconds(id: string): number {
  return Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
}
