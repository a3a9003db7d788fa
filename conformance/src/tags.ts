/**
 * Tags that every conformance case carries: the guarantee it checks and the
 * profile it belongs to. An implementation claims profiles; a report lists,
 * per implementation, the cases of its claimed profiles and the gaps it
 * declared for the rest.
 */

/** The guarantees of the chatwire contract, by number. */
export type Guarantee =
  | "G1 durable local accept"
  | "G2 exactly-once effect"
  | "G3 server ack"
  | "G4 one order for everyone"
  | "G5 differential sync by cursor"
  | "G6 real-time with fallback"
  | "G7 gap and expiry detection"
  | "G8 receipts and multi-device"
  | "G9 explicit connection state"
  | "G10 lifecycle aware"
  | "G11 nobody misses a message"
  | "G12 authenticated and authorized"
  | "G13 bad input is an error";

/**
 * Groups of capabilities an implementation can claim.
 *
 * - core: sending, ordering, idempotency, sync, streams, auth and limits.
 * - offline: outbox and cursor survive restarts, kills and long absences.
 * - multi-device: one user on several devices (receipts, read marks, cursors).
 * - push: wake-ups for devices without an open stream.
 * - multi-node: several server nodes behind one URL.
 */
export type Profile = "core" | "offline" | "multi-device" | "push" | "multi-node";

export const PROFILES: readonly Profile[] = ["core", "offline", "multi-device", "push", "multi-node"];

/** Returns the short form of a guarantee, such as "G4". */
export function guaranteeId(guarantee: Guarantee): string {
  return guarantee.slice(0, guarantee.indexOf(" "));
}

/** The profiles an implementation under test claims, with the reasons it leaves out the rest. */
export interface Claim {
  /** Name in reports, such as "node" or "reference server". */
  name: string;
  profiles: readonly Profile[];
  /** Profiles not claimed, each with the reason a report prints. */
  gaps: ReadonlyArray<{ profile: Profile; reason: string }>;
}
