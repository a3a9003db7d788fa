/** Waits and assertions the multi-node tests share. */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";

import type { Message } from "@chatwire/gen";
import type { MessageRecord } from "@chatwire/sdk-core";

import { assertMatchesServer } from "../../src/scenarios/checks.js";
import type { ProtocolUser } from "../../src/scenarios/protocol.js";
import { readStoredDevice, type StoredDevice } from "./devices.js";

/** Polls `condition` every 50 ms. After `timeoutMs` it throws with the text of `describe()`, which names what is missing. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(50);
  }
}

/** Asserts that the seqs are exactly 1, 2, ..., n. */
export function assertGapless(messages: readonly { seq: number }[], label: string): void {
  messages.forEach((message, index) => {
    assert.equal(message.seq, index + 1, `${label}: message ${index + 1} has seq ${message.seq}`);
  });
}

/**
 * Asserts that a device stores exactly the server's history of a
 * conversation, gapless from seq 1, and that every text the test sent to it
 * is there once.
 */
export function assertConversationStored(
  stored: readonly MessageRecord[],
  history: readonly Message[],
  sentTexts: readonly string[],
  label: string,
): void {
  assertGapless(stored, label);
  assertMatchesServer(stored, history, label);
  const texts = stored.map((message) => message.text).sort();
  assert.deepEqual(texts, [...sentTexts].sort(), `${label}: the stored texts differ from the texts sent`);
}

/**
 * Asserts that a closed device's sync state is intact: its stored position is
 * the head of the user's log, and a Sync from its stored cursor, as its next
 * start would make, returns no event (nothing new, nothing repeated).
 */
export async function assertCursorIntact(user: ProtocolUser, stored: StoredDevice, label: string): Promise<void> {
  assert.ok(stored.cursor !== undefined, `${label}: no sync cursor stored`);
  assert.notEqual(stored.cursor, "", `${label}: the stored sync cursor is empty`);
  assert.ok(stored.deviceId !== undefined, `${label}: no device id stored`);

  const whole = await user.syncAll("", `${stored.deviceId}-check`);
  const head = Number(whole.events.at(-1)?.position ?? 0n);
  assert.equal(stored.position, head, `${label}: stored position ${stored.position}, but the log ends at ${head}`);

  const next = await user.chat.sync({ cursor: stored.cursor, deviceId: stored.deviceId });
  assert.equal(next.events.length, 0, `${label}: Sync from the stored cursor returned ${next.events.length} events`);
  assert.equal(next.hasMore, false, `${label}: Sync from the stored cursor reported more events`);
}

/**
 * Waits until the devices are quiet: for each one, the sync state in its
 * file (read through a second connection while the client runs) reaches the
 * end of its user's log, and stays there for `quietMs`. Receipts keep
 * appending events to every member's log for a while after the last message
 * arrives, so a device closed earlier would rightly miss them.
 */
export async function waitUntilQuiet(
  devices: ReadonlyArray<{ name: string; databasePath: string; userId: string }>,
  userOf: (userId: string) => ProtocolUser,
  quietMs: number,
  timeoutMs: number,
): Promise<void> {
  const lagging = async (): Promise<string[]> => {
    const behind: string[] = [];
    for (const device of devices) {
      const stored = await readStoredDevice(device.databasePath, []);
      if (stored.cursor === undefined || stored.deviceId === undefined) {
        behind.push(`${device.name} has no cursor`);
        continue;
      }
      const next = await userOf(device.userId).chat.sync({ cursor: stored.cursor, deviceId: stored.deviceId });
      if (next.events.length > 0) behind.push(`${device.name} is ${next.events.length} events behind`);
    }
    return behind;
  };
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const behind = await lagging();
    if (behind.length === 0) {
      await sleep(quietMs);
      if ((await lagging()).length === 0) return;
    } else if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for the devices to catch up: ${behind.join(", ")}`);
    }
    await sleep(100);
  }
}

/** Fetches a node's /metrics text over HTTP/1.1. */
export async function fetchMetrics(nodeUrl: string): Promise<string> {
  const response = await fetch(`${nodeUrl}/metrics`);
  assert.equal(response.status, 200, `GET ${nodeUrl}/metrics returned ${response.status}`);
  return response.text();
}

/**
 * Sums the samples of `name` in Prometheus text whose labels include every
 * pair in `labels`; 0 when there is none.
 */
export function sumSamples(metricsText: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of metricsText.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const labelText = match[2] ?? "";
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) {
      total += Number(match[3]);
    }
  }
  return total;
}
