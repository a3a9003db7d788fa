/**
 * @chatwire/server: the reference chatwire.v1 server.
 *
 * ```ts
 * const server = await startServer({ port: 0, dataDir: "./data", jwtSecret });
 * const token = await mintToken({ secret: jwtSecret, userId: "alice", ttlSeconds: 3600 });
 * // connect clients to server.url with "Authorization: Bearer <token>"
 * await server.close();
 * ```
 *
 * With `databaseUrl` the server keeps its data in PostgreSQL, so several
 * servers can share it. `migratePostgres` applies the schema on its own, for
 * a deployment step before the servers start.
 */
export { startServer, type RunningServer } from "./server.js";
export type { ServerOptions } from "./options.js";
export type * from "./store/types.js";
export { mintToken, type MintTokenOptions } from "./auth/tokens.js";
export { migratePostgres, type MigrateOptions } from "./store/postgres/postgres-store.js";
