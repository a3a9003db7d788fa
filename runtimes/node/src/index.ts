export { createNodeChatClient, type NodeChatClientOptions } from "./client.js";
export { openSqliteStorage, type SqliteStorageOptions } from "./storage/sqlite-storage.js";
export { createNodeTransport, type NodeTransportOptions } from "./transport.js";
