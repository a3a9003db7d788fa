/**
 * Alice queues messages offline on her phone and her laptop, into the same
 * conversation, and both devices come online at once, so their flushes
 * interleave on the server. Everyone (bob, the phone and the laptop) must
 * store one and the same order, the server's, with each device's messages
 * in that device's send order.
 */
import assert from "node:assert/strict";

import { assertMatchesServer, assertNoRepeats } from "./checks.js";
import type { Scenario } from "./types.js";

const PER_DEVICE = 25;
const WAIT_MS = 20_000;

export const twoDevicesOneOrder: Scenario = {
  id: "S32",
  title: "two devices of one user flushing into one conversation agree on one order",
  profile: "multi-device",
  guarantees: ["G4 one order for everyone", "G8 receipts and multi-device", "G2 exactly-once effect"],
  timeoutMs: 45_000,

  async run(context) {
    const phone = await context.runtime.createClient(context.clientOptions("alice", "phone"));
    const laptop = await context.runtime.createClient(context.clientOptions("alice", "laptop"));
    const bob = await context.runtime.createClient(context.clientOptions("bob"));
    try {
      const conversationId = await bob.createDirect("alice");
      await phone.waitFor({ kind: "conversation", conversationId }, WAIT_MS);
      await laptop.waitFor({ kind: "conversation", conversationId }, WAIT_MS);

      context.step(`both devices queue ${PER_DEVICE} messages offline`);
      await phone.setNetworkAvailable(false);
      await laptop.setNetworkAvailable(false);
      const sent = { phone: [] as string[], laptop: [] as string[] };
      for (let i = 1; i <= PER_DEVICE; i++) {
        for (const [name, device] of [
          ["phone", phone],
          ["laptop", laptop],
        ] as const) {
          const text = `${name} ${i}`;
          await device.send(conversationId, text);
          sent[name].push(text);
        }
      }

      context.step("both come online at once");
      await Promise.all([phone.setNetworkAvailable(true), laptop.setNetworkAvailable(true)]);
      await phone.waitFor({ kind: "outbox-drained" }, WAIT_MS);
      await laptop.waitFor({ kind: "outbox-drained" }, WAIT_MS);

      const total = PER_DEVICE * 2;
      const server = await context.user("bob").history(conversationId);
      assert.equal(server.length, total, `the server must hold ${total} messages, each once`);
      for (const name of ["phone", "laptop"] as const) {
        assert.deepEqual(
          server.map((message) => message.text).filter((text) => text.startsWith(`${name} `)),
          sent[name],
          `the server must keep the ${name}'s send order`,
        );
      }
      for (const [name, client] of [
        ["bob", bob],
        ["the phone", phone],
        ["the laptop", laptop],
      ] as const) {
        const state = await client.waitFor({ kind: "stored", conversationId, count: total }, WAIT_MS);
        assertMatchesServer(state.stored[conversationId] ?? [], server, name);
        assertNoRepeats(state.views[conversationId] ?? [], `${name}'s view`);
      }
    } finally {
      await phone.close();
      await laptop.close();
      await bob.close();
    }
  },
};
