/** Small reads and checks that several cases share. */
import assert from "node:assert/strict";

import type { Event, Message } from "@chatwire/gen";

import type { SuiteUser } from "../types.js";

/** History pages a helper reads before it reports a server that never reports the end. */
const MAX_HISTORY_PAGES = 10_000;

/** Reads the whole history of a conversation with GetHistory, in ascending seq. */
export async function readHistory(user: SuiteUser, conversationId: string): Promise<Message[]> {
  const messages: Message[] = [];
  let beforeSeq = 0n;
  for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
    const response = await user.chat.getHistory({ conversationId, beforeSeq });
    messages.unshift(...response.messages);
    const oldest = response.messages[0];
    if (!response.hasMore || oldest === undefined) return messages;
    beforeSeq = oldest.seq;
  }
  throw new Error(`GetHistory of ${conversationId} still reported has_more after ${MAX_HISTORY_PAGES} pages`);
}

/** Returns the messages of the MessageEvents in `events` that belong to `conversationId`. */
export function messagesIn(events: readonly Event[], conversationId: string): Message[] {
  return events.flatMap((event) =>
    event.kind.case === "message" && event.kind.value.message?.conversationId === conversationId
      ? [event.kind.value.message]
      : [],
  );
}

/** Returns the positions of `events` as numbers. */
export function positionsOf(events: readonly Event[]): number[] {
  return events.map((event) => Number(event.position));
}

/** Checks that `positions` run from `first` upward without a gap or repeat. */
export function assertConsecutive(label: string, positions: readonly number[], first: number): void {
  const expected = Array.from({ length: positions.length }, (_, index) => first + index);
  assert.deepEqual(positions, expected, `${label}: positions must continue from ${first} without a gap or repeat`);
}

/** Returns the conversation ids an event refers to. */
export function conversationIdsOf(event: Event): string[] {
  switch (event.kind.case) {
    case "message":
      return [event.kind.value.message?.conversationId ?? ""];
    case "receipt":
      return [event.kind.value.conversationId];
    case "conversation":
      return [event.kind.value.conversation?.conversationId ?? ""];
    default:
      return [];
  }
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
