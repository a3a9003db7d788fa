/**
 * Bob misses exactly four full Sync pages of events: the count is a
 * multiple of the server's page size, so the last page is full and has
 * has_more false. A client that expects a short last page, or one that
 * treats a full page as "more to come" and then mishandles the empty page
 * after it, stalls or loses events here. Bob must store every message once,
 * end with his cursor at the end, and go on receiving live messages.
 */
import assert from "node:assert/strict";

import { assertCursorAtEnd } from "./catch-up.js";
import { assertMatchesServer } from "./checks.js";
import type { Scenario } from "./types.js";

const PAGE_SIZE = 50;
const PAGES = 4;
const WAIT_MS = 30_000;

export const pageBoundary: Scenario = {
  id: "S15",
  title: "a catch-up that ends exactly at a page boundary is complete and goes on live",
  profile: "offline",
  guarantees: ["G5 differential sync by cursor"],
  serverArgs: ["--max-page-size", String(PAGE_SIZE), "--rate-limit", "0"],
  timeoutMs: 60_000,

  async run(context) {
    assert.equal(context.limits.maxPageSize, PAGE_SIZE, "the server must use the page size flag");
    const carol = context.user("carol");
    const probe = context.user("bob");

    context.step("bob starts once to get a cursor, then goes away");
    const bobOptions = context.clientOptions("bob", "main", { tuning: { catchUpPageSize: PAGE_SIZE } });
    const first = await context.runtime.createClient(bobOptions);
    await first.waitFor({ kind: "connection", state: "connected" }, WAIT_MS);
    const startCursor = (await first.snapshot()).cursor;
    await first.close();

    context.step(`carol writes until bob has missed exactly ${PAGES * PAGE_SIZE} events`);
    const groups = [await carol.createGroup("boundary a", ["bob"]), await carol.createGroup("boundary b", ["bob"])];
    const target = PAGES * PAGE_SIZE;
    // Bob's log also holds the groups' creation events, so the count is measured, then topped up.
    let missed = (await probe.syncAll(startCursor)).events.length;
    for (let round = 1; missed < target && round <= 3; round++) {
      const short = target - missed;
      for (let i = 0; i < short; i++) await carol.send(groups[i % groups.length]!, `message ${i + 1} of round ${round}`);
      missed = (await probe.syncAll(startCursor)).events.length;
    }
    assert.equal(missed, target, `bob must have missed exactly ${target} events`);

    const pages: { events: number; hasMore: boolean }[] = [];
    let cursor = startCursor;
    for (let guard = 0; guard <= PAGES + 1; guard++) {
      const page = await probe.chat.sync({ cursor, deviceId: "page-probe", limit: PAGE_SIZE });
      pages.push({ events: page.events.length, hasMore: page.hasMore });
      cursor = page.nextCursor;
      if (!page.hasMore) break;
    }
    assert.deepEqual(
      pages,
      Array.from({ length: PAGES }, (_, i) => ({ events: PAGE_SIZE, hasMore: i < PAGES - 1 })),
      `Sync must return ${PAGES} full pages, the last one with has_more false`,
    );

    context.step("bob comes back and catches up");
    const bob = await context.runtime.createClient(bobOptions);
    try {
      for (const conversationId of groups) {
        const server = await carol.history(conversationId);
        const state = await bob.waitFor({ kind: "stored", conversationId, count: server.length }, WAIT_MS);
        assertMatchesServer(state.stored[conversationId] ?? [], server, `bob in ${conversationId}`);
      }
      await assertCursorAtEnd(context, bob, "bob");

      context.step("a live message after the boundary arrives");
      const before = (await bob.snapshot()).stored[groups[0]!]?.length ?? 0;
      await carol.send(groups[0]!, "live after the boundary");
      const after = await bob.waitFor({ kind: "stored", conversationId: groups[0]!, count: before + 1 }, WAIT_MS);
      assert.equal(after.stored[groups[0]!]?.at(-1)?.text, "live after the boundary", "the live message must be stored last");
    } finally {
      await bob.close();
    }
  },
};
