/**
 * Classification of failed PostgreSQL calls, in one place:
 *
 * - conflict: a serialization failure (40001) or a deadlock (40P01). The
 *   transaction rolled back as a whole, so running it again is safe.
 * - unavailable: the database could not be reached or dropped the
 *   connection, a statement timed out, or no pooled connection became free in
 *   time. The caller gets Connect `unavailable` and retries with backoff.
 * - other: anything else, such as a bug in a statement. It is rethrown as it
 *   is and the RPC layer reports it as internal.
 */
import { DatabaseError } from "pg";

export type Failure =
  | { kind: "conflict"; sqlState: string }
  | { kind: "unavailable"; reason: string; sqlState?: string }
  | { kind: "other" };

/** Settings that appear in failure reasons. */
export interface FailureContext {
  connectionTimeoutMs: number;
  poolMax: number;
  statementTimeoutMs: number;
}

/** Node socket errors that mean the server was never reached. */
const CONNECT_ERRORS = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
/** Node socket errors that mean an open connection broke. */
const LOST_ERRORS = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED"]);

function databaseFailure(error: DatabaseError): Failure {
  const sqlState = error.code ?? "";
  const quoted = `${sqlState}: ${error.message}`;
  if (sqlState === "40001" || sqlState === "40P01") return { kind: "conflict", sqlState };
  if (sqlState === "57P01") return { kind: "unavailable", sqlState, reason: `the server terminated the connection (${quoted})` };
  if (sqlState === "57P02" || sqlState === "57P03") {
    return { kind: "unavailable", sqlState, reason: `the server is shutting down or starting up (${quoted})` };
  }
  if (sqlState === "57014") return { kind: "unavailable", sqlState, reason: `a statement was canceled (${quoted})` };
  if (sqlState === "25006") {
    return { kind: "unavailable", sqlState, reason: `the server accepts no writes, as a standby does (${quoted})` };
  }
  if (sqlState === "55P03") return { kind: "unavailable", sqlState, reason: `a lock was not available in time (${quoted})` };
  if (sqlState.startsWith("08")) return { kind: "unavailable", sqlState, reason: `the connection failed (${quoted})` };
  if (sqlState.startsWith("53")) return { kind: "unavailable", sqlState, reason: `the server is out of resources (${quoted})` };
  return { kind: "other" };
}

export function classifyFailure(error: unknown, context: FailureContext): Failure {
  if (error instanceof DatabaseError) return databaseFailure(error);
  if (!(error instanceof Error)) return { kind: "other" };

  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === "string" && CONNECT_ERRORS.has(code)) {
    return { kind: "unavailable", reason: `could not connect to the server (${code}: ${error.message})` };
  }
  if (typeof code === "string" && LOST_ERRORS.has(code)) {
    return { kind: "unavailable", reason: `the connection was lost (${code}: ${error.message})` };
  }
  // pg and pg-pool 8.x report these as plain Errors with fixed messages.
  switch (error.message) {
    case "timeout exceeded when trying to connect":
      return {
        kind: "unavailable",
        reason: `no connection of the pool (at most ${context.poolMax}) became free within ${context.connectionTimeoutMs} ms`,
      };
    case "Connection terminated due to connection timeout":
      return { kind: "unavailable", reason: `a new connection did not open within ${context.connectionTimeoutMs} ms` };
    case "Connection terminated unexpectedly":
      return { kind: "unavailable", reason: "the server closed the connection unexpectedly" };
    case "Client has encountered a connection error and is not queryable":
      return { kind: "unavailable", reason: "the connection broke earlier in this call" };
    case "Query read timeout":
      return { kind: "unavailable", reason: `no reply within ${context.statementTimeoutMs} ms plus a margin` };
    default:
      return { kind: "other" };
  }
}
