/**
 * The faults an RPC proxy applies, per procedure. The proxy's controls add
 * rules here. Each call gets its plan when its response starts, and each
 * message of a streaming response gets a decision to drop it, hold it or
 * pass it on.
 *
 * A procedure is named by its path ("/chatwire.v1.ChatService/SendMessage")
 * or by its method name alone ("SendMessage"), which matches that method in
 * any service.
 */

/** Tells whether `pattern` names the procedure at `path`. */
export function matchesProcedure(pattern: string, path: string): boolean {
  return path === pattern || path.endsWith(`/${pattern}`);
}

/** The handling of one call's response, decided once when the server's response starts. */
export interface ResponsePlan {
  /** forward: pass it on; drop: read it whole, then fail the call; block: pass nothing at all. */
  kind: "forward" | "drop" | "block";
  /** Milliseconds to hold the response before forwarding its first byte. */
  delayMs: number;
  /**
   * For drop: called once the response was discarded, with the server's
   * HTTP status, or 0 when the server's response broke off before its end.
   */
  onDropped?: (status: number) => void;
}

/** The handling of one message of a streaming response. */
export interface MessageDecision {
  drop: boolean;
  /** Milliseconds to hold the message; messages keep their order. */
  delayMs: number;
}

interface DropRule {
  procedure: string;
  count: number;
  left: number;
  statuses: number[];
  done(statuses: number[]): void;
}

interface DelayRule {
  procedure: string;
  ms: number;
  left: number;
}

interface MessageDropRule {
  procedure: string;
  match(payload: Uint8Array): boolean;
  left: number;
  done(): void;
}

export class RpcRules {
  #drops: DropRule[] = [];
  #delays: DelayRule[] = [];
  #blocked: string[] = [];
  #messageDrops: MessageDropRule[] = [];
  #messageDelays = new Map<string, number>();

  /** Adds a rule that drops the next `count` responses; resolves with their statuses once all were dropped. */
  addDrop(procedure: string, count: number): Promise<number[]> {
    return new Promise((resolve) => {
      this.#drops.push({ procedure, count, left: count, statuses: [], done: resolve });
    });
  }

  addDelay(procedure: string, ms: number, count: number): void {
    this.#delays.push({ procedure, ms, left: count });
  }

  addBlock(procedure: string): void {
    this.#blocked.push(procedure);
  }

  /** Adds a rule that drops the next `count` matching messages; resolves once all were dropped. */
  addMessageDrop(procedure: string, match: (payload: Uint8Array) => boolean, count: number): Promise<void> {
    return new Promise((resolve) => {
      this.#messageDrops.push({ procedure, match, left: count, done: resolve });
    });
  }

  setMessageDelay(procedure: string, ms: number): void {
    if (ms === 0) this.#messageDelays.delete(procedure);
    else this.#messageDelays.set(procedure, ms);
  }

  /** Returns the plan for a response of the procedure at `path`, using up one count of each rule it matches. */
  planResponse(path: string): ResponsePlan {
    if (this.#blocked.some((procedure) => matchesProcedure(procedure, path))) return { kind: "block", delayMs: 0 };

    let delayMs = 0;
    for (const rule of this.#delays) {
      if (rule.left <= 0 || !matchesProcedure(rule.procedure, path)) continue;
      rule.left -= 1;
      delayMs = Math.max(delayMs, rule.ms);
    }
    this.#delays = this.#delays.filter((rule) => rule.left > 0);

    const drop = this.#drops.find((rule) => rule.left > 0 && matchesProcedure(rule.procedure, path));
    if (drop === undefined) return { kind: "forward", delayMs };
    drop.left -= 1;
    if (drop.left === 0) this.#drops = this.#drops.filter((rule) => rule !== drop);
    return {
      kind: "drop",
      delayMs,
      onDropped: (status) => {
        drop.statuses.push(status);
        if (drop.statuses.length === drop.count) drop.done(drop.statuses);
      },
    };
  }

  /** True when a message of `path` must be decoded for a drop rule to look at it. */
  inspectsMessages(path: string): boolean {
    return this.#messageDrops.some((rule) => matchesProcedure(rule.procedure, path));
  }

  /** Decides about one message; `payload` is its protobuf bytes, or undefined for an envelope that is no message. */
  decideMessage(path: string, payload: Uint8Array | undefined): MessageDecision {
    let delayMs = 0;
    for (const [procedure, ms] of this.#messageDelays) {
      if (matchesProcedure(procedure, path)) delayMs = Math.max(delayMs, ms);
    }
    if (payload === undefined) return { drop: false, delayMs };
    const rule = this.#messageDrops.find((candidate) => matchesProcedure(candidate.procedure, path) && candidate.match(payload));
    if (rule === undefined) return { drop: false, delayMs };
    rule.left -= 1;
    if (rule.left === 0) {
      this.#messageDrops = this.#messageDrops.filter((candidate) => candidate !== rule);
      rule.done();
    }
    return { drop: true, delayMs };
  }

  /** Removes every rule. Promises of rules not yet used up stay pending. */
  reset(): void {
    this.#drops = [];
    this.#delays = [];
    this.#blocked = [];
    this.#messageDrops = [];
    this.#messageDelays.clear();
  }
}
