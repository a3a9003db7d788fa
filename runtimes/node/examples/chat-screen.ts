/**
 * The terminal screen of the chat example: a header with the connection
 * state, the newest messages with their status, recent notices and the
 * input line. It redraws the whole screen (ANSI clear) at most every 30 ms
 * and puts the half-typed input back afterwards.
 */
import type { Interface } from "node:readline";

import type { ConnectionState, MessageItem } from "@chatwire/sdk-core";

const STATUS_MARKS: Record<MessageItem["status"], string> = {
  pending: "… pending",
  sent: "✓ sent",
  delivered: "✓✓ delivered",
  read: "✓✓ read",
  failed: "✗ failed",
};
const REDRAW_DELAY_MS = 30;
const MAX_NOTICES = 3;

/** Describes a connection state in a few words, with its data. */
export function describeConnection(state: ConnectionState): string {
  switch (state.kind) {
    case "connecting":
      return state.attempt === 0 ? "connecting" : `connecting (attempt ${state.attempt + 1})`;
    case "connected":
      return `connected (${state.via})`;
    case "waiting": {
      const seconds = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
      return `waiting: retry in ${seconds} s after ${state.reason}`;
    }
    case "offline":
      return "offline";
    case "suspended":
      return "suspended (background)";
    case "closed":
      return `closed (${state.reason})`;
  }
}

/**
 * Returns how many terminal columns a character takes: 0 for combining
 * marks, zero-width joiners and variation selectors, 2 for wide East Asian
 * characters and most emoji, else 1. An estimate: terminals differ on some
 * emoji sequences.
 */
function columnsOf(char: string): number {
  const code = char.codePointAt(0) ?? 0;
  if ((code >= 0x300 && code <= 0x36f) || code === 0x200d || (code >= 0xfe00 && code <= 0xfe0f)) return 0;
  if ((code >= 0x1f3fb && code <= 0x1f3ff) || (code >= 0xe0020 && code <= 0xe007f)) return 0;
  if (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0x1f000 && code <= 0x1faff) ||
    (code >= 0x2600 && code <= 0x27bf)
  ) {
    return 2;
  }
  return 1;
}

/** Cuts a text to at most `columns` terminal columns, ending with "…" when it cut. */
function fitColumns(text: string, columns: number): string {
  let used = 0;
  let out = "";
  for (const char of text) {
    const width = columnsOf(char);
    if (used + width > columns - 1) {
      return `${out}…`;
    }
    used += width;
    out += char;
  }
  return out;
}

/** Shows a text on one line, with newlines and tabs visible. */
function oneLine(text: string): string {
  return text.replace(/\n/g, "⏎ ").replace(/\t/g, "⇥ ");
}

export class ChatScreen {
  readonly #header: string;
  #state: ConnectionState | undefined;
  #conversationId: string | undefined;
  #label = "no conversation";
  #items: readonly MessageItem[] = [];
  #notices: string[] = [];
  #input: Interface | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Redraws every second while waiting, so the retry countdown moves. */
  #ticker: NodeJS.Timeout | undefined;

  constructor(userId: string, baseUrl: string, storagePath: string) {
    this.#header = `chatwire · ${userId} · ${baseUrl} · ${storagePath}`;
  }

  get conversationId(): string | undefined {
    return this.#conversationId;
  }

  attach(input: Interface): void {
    this.#input = input;
    this.#ticker = setInterval(() => {
      if (this.#state?.kind === "waiting") this.#schedule();
    }, 1_000);
    this.#ticker.unref();
    this.#schedule();
  }

  detach(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#ticker);
    this.#input = undefined;
    process.stdout.write("\n");
  }

  setConnection(state: ConnectionState): void {
    this.#state = state;
    this.#schedule();
  }

  setConversation(conversationId: string, label: string): void {
    this.#conversationId = conversationId;
    this.#label = label;
    this.#items = [];
    this.#schedule();
  }

  setItems(items: readonly MessageItem[]): void {
    this.#items = items;
    this.#schedule();
  }

  notice(text: string): void {
    this.#notices = [...this.#notices, text].slice(-MAX_NOTICES);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#input === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#render();
    }, REDRAW_DELAY_MS);
  }

  #render(): void {
    const width = Math.max(40, process.stdout.columns ?? 80);
    const height = process.stdout.rows ?? 24;
    const rule = "─".repeat(width);
    const room = Math.max(1, height - 6 - this.#notices.length);
    const shown = this.#items.slice(-room);
    const senderWidth = Math.max(5, ...shown.map((item) => item.senderId.length));

    const lines = [
      this.#header.slice(0, width),
      `${this.#label}   ·   connection: ${this.#state ? describeConnection(this.#state) : "not started"}`.slice(0, width),
      rule,
      ...shown.map((item) => this.#messageLine(item, senderWidth, width)),
      rule,
      ...this.#notices,
    ];
    process.stdout.write(`\x1b[2J\x1b[H${lines.join("\n")}\n`);
    this.#input?.prompt(true);
  }

  #messageLine(item: MessageItem, senderWidth: number, width: number): string {
    const seq = item.seq === undefined ? "    " : `#${String(item.seq).padStart(3)}`;
    const status = item.own ? `  ${STATUS_MARKS[item.status]}` : "";
    const failure = item.failure ? ` (${item.failure.code}: ${item.failure.message})` : "";
    const prefix = `${seq}  ${item.senderId.padEnd(senderWidth)}  `;
    const textRoom = Math.max(10, width - prefix.length - status.length - failure.length);
    return `${prefix}${fitColumns(oneLine(item.text), textRoom)}${status}${failure}`;
  }
}
