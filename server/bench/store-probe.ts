import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConversationKind } from "@chatwire/gen";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { uuidV7 } from "../src/ids.js";

const sync = (process.argv[2] ?? "full") as "full" | "normal";
let batches = 0, size = 0;
const store = openSqliteStore({ path: join(mkdtempSync(join(tmpdir(), "probe-")), "p.sqlite"), synchronous: sync, observer: { eventsCommitted() {}, batchCommitted(n) { batches++; size += n; } } });
const convs = await Promise.all(Array.from({ length: 64 }, (_, i) => store.createConversation({ creatorId: `s${i}`, kind: ConversationKind.DIRECT, memberIds: [`r${i}`], title: "", requestId: "", maxMembers: 10 })));
batches = 0; size = 0;
const N = 20000;
const t0 = performance.now();
await Promise.all(Array.from({ length: N }, (_, i) => store.sendMessage({ senderId: `s${i % 64}`, senderDeviceId: "d", conversationId: convs[i % 64]!.conversation.conversationId, clientMessageId: uuidV7(), text: "benchmark message of moderate length" })));
const ms = performance.now() - t0;
console.log(sync, "msgs/s", Math.round(N / ms * 1000), "batches", batches, "mean", size / batches);
// single-commit latency
const t1 = performance.now();
for (let i = 0; i < 50; i++) await store.sendMessage({ senderId: "s0", senderDeviceId: "d", conversationId: convs[0]!.conversation.conversationId, clientMessageId: uuidV7(), text: "x" });
console.log("serial commit ms", ((performance.now() - t1) / 50).toFixed(2));
await store.close();
