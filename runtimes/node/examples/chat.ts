/**
 * A small terminal chat on the Node runtime, against a server in
 * development mode (`npm start`):
 *
 *   npm run chat -- --user alice --to bob
 *   npm run chat -- --user bob --to alice
 *   npm run chat -- --user carol --group launch --members alice,bob
 *
 * Each user keeps a SQLite file under ./data-clients/, so messages typed
 * while the server is down wait in the outbox and go out when it is back.
 * The screen shows the conversation with each message's status and a line
 * with the connection state. Commands: /to USER, /read, /quit, /help.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

import { createChatClient, type ChatClient } from "@chatwire/sdk-core";

import { createNodeTransport, openSqliteStorage } from "../src/index.js";
import { ChatScreen } from "./chat-screen.js";
import { devTokenSource } from "./dev-tokens.js";

// The same PORT variable that `npm start` reads, so one export serves both.
const DEFAULT_URL = `http://127.0.0.1:${process.env["PORT"] ?? "8080"}`;

const USAGE = `usage: npm run chat -- --user NAME [--url URL] [--to USER | --group TITLE [--members A,B]]

  --user NAME       who you are (the server must run with --dev: tokens come from /dev/token)
  --url URL         the server (default ${DEFAULT_URL}, from PORT when it is set)
  --to USER         open the direct conversation with USER
  --group TITLE     open your group with this title, creating it when you have none
  --members A,B     members to add when the group is created
  --data-dir DIR    where the client's SQLite file goes (default ./data-clients)

commands: /to USER   /read   /quit   /help`;

const { values } = parseArgs({
  options: {
    user: { type: "string" },
    url: { type: "string", default: DEFAULT_URL },
    to: { type: "string" },
    group: { type: "string" },
    members: { type: "string", default: "" },
    "data-dir": { type: "string", default: "data-clients" },
    help: { type: "boolean", default: false },
  },
});

function exitWithUsage(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const userId = values.user ?? exitWithUsage("--user is missing");
if (values.to && values.group) exitWithUsage("give --to or --group, not both");
const baseUrl = values.url.replace(/\/+$/, "");

mkdirSync(values["data-dir"], { recursive: true });
const storagePath = join(values["data-dir"], `${userId.replace(/[^A-Za-z0-9_.@-]/g, "_")}.sqlite`);
const storage = openSqliteStorage(storagePath);
const token = devTokenSource(baseUrl);
const client: ChatClient = createChatClient({
  transport: createNodeTransport({ baseUrl }),
  storage,
  userId,
  getToken: () => token(userId),
});
const screen = new ChatScreen(userId, baseUrl, storagePath);
let stopWatching: (() => void) | undefined;

client.onConnectionStateChange((next) => screen.setConnection(next));
screen.setConnection(client.connectionState);

/** Opens a conversation on screen and keeps its view live. */
function show(conversationId: string, label: string): void {
  stopWatching?.();
  screen.setConversation(conversationId, label);
  stopWatching = client.watchConversation(conversationId, (view) => screen.setItems(view.items));
}

async function openDirect(otherUserId: string): Promise<void> {
  const conversation = await client.createDirectConversation(otherUserId);
  show(conversation.conversationId, `${userId} ↔ ${otherUserId}`);
}

async function openGroup(title: string, memberIds: string[]): Promise<void> {
  const conversations = await client.listConversations();
  const existing = conversations.find((c) => c.kind === "group" && c.title === title && !c.removed);
  const conversation =
    existing ?? (await client.createGroup({ title, memberIds, requestId: `${userId}-group-${title}`.slice(0, 64) }));
  show(conversation.conversationId, `group "${title}"`);
}

async function runCommand(line: string): Promise<boolean> {
  const [command, ...rest] = line.trim().split(/\s+/);
  const argument = rest.join(" ");
  switch (command) {
    case "/quit":
      return false;
    case "/help":
      screen.notice("commands: /to USER   /read   /quit   /help; anything else is sent");
      return true;
    case "/to":
      if (!argument) screen.notice("/to needs a user name: /to bob");
      else await openDirect(argument);
      return true;
    case "/read": {
      const conversationId = screen.conversationId;
      if (!conversationId) screen.notice("open a conversation first: /to USER");
      else {
        await client.markRead(conversationId);
        screen.notice("marked as read");
      }
      return true;
    }
    default:
      screen.notice(`unknown command ${command}; /help lists them`);
      return true;
  }
}

async function handleLine(line: string): Promise<boolean> {
  if (line.startsWith("/")) return runCommand(line);
  if (line.trim() === "") return true;
  const conversationId = screen.conversationId;
  if (!conversationId) {
    screen.notice("open a conversation first: /to USER");
    return true;
  }
  await client.send(conversationId, line);
  return true;
}

async function main(): Promise<void> {
  await client.start();
  if (values.to) await openDirect(values.to);
  else if (values.group) {
    await openGroup(values.group, values.members.split(",").map((m) => m.trim()).filter(Boolean));
  } else screen.notice("open a conversation: /to USER");

  const input = createInterface({ input: process.stdin, output: process.stdout, prompt: "> " });
  screen.attach(input);
  // Lines are handled one at a time, so messages keep the order they were typed in.
  let queue = Promise.resolve(true);
  let closing = false;
  const quit = async () => {
    if (closing) return;
    closing = true;
    stopWatching?.();
    await client.close();
    await storage.close();
    screen.detach();
    process.exit(0);
  };
  input.on("line", (line) => {
    queue = queue.then(async (open) => {
      if (!open) return false;
      try {
        const keepOpen = await handleLine(line);
        if (!keepOpen) await quit();
        return keepOpen;
      } catch (error) {
        screen.notice(`! ${error instanceof Error ? error.message : String(error)}`);
        return true;
      }
    });
  });
  input.on("close", () => void quit());
}

main().catch((error: unknown) => {
  console.error(`chat failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
