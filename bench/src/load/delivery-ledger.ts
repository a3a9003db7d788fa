import type { Message } from "@chatwire/gen";

const MAX_REPORTED_PROBLEMS = 10;

/**
 * What one conversation's sender had acknowledged and what its receiver got,
 * to check that every acknowledged message arrives exactly once, in seq order.
 */
export class DeliveryLedger {
  private readonly acked = new Map<number, string>();
  private readonly ackTimes: number[] = [];
  private readonly delivered: Array<{ seq: number; messageId: string }> = [];
  private readonly deliveryTimes: number[] = [];

  constructor(readonly conversationId: string) {}

  recordAck(message: Message, at: number): void {
    // Number() accepts seq as bigint (uint64) or as number (jstype = JS_NUMBER).
    this.acked.set(Number(message.seq), message.messageId);
    this.ackTimes.push(at);
  }

  recordDelivery(message: Message, at: number): void {
    this.delivered.push({ seq: Number(message.seq), messageId: message.messageId });
    this.deliveryTimes.push(at);
  }

  get ackCount(): number {
    return this.ackTimes.length;
  }

  get deliveryCount(): number {
    return this.delivered.length;
  }

  /** Counts acknowledgements received in [from, to), times from performance.now(). */
  acksBetween(from: number, to: number): number {
    return countBetween(this.ackTimes, from, to);
  }

  /** Counts deliveries received in [from, to). */
  deliveriesBetween(from: number, to: number): number {
    return countBetween(this.deliveryTimes, from, to);
  }

  /**
   * Returns what is wrong, or nothing: the deliveries must have seqs 1, 2, 3,
   * ... in arrival order (so none is missing, repeated or out of order), and
   * each must be the message SendMessage acknowledged with that seq.
   */
  problems(): string[] {
    const problems: string[] = [];
    const report = (text: string) => {
      if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(`conversation ${this.conversationId}: ${text}`);
    };

    if (this.delivered.length !== this.acked.size) {
      report(`${this.acked.size} messages acknowledged but ${this.delivered.length} delivered`);
    }
    this.delivered.forEach((delivery, index) => {
      if (delivery.seq !== index + 1) {
        report(`delivery #${index + 1} has seq ${delivery.seq}, expected ${index + 1}`);
      }
      const ackedId = this.acked.get(delivery.seq);
      if (ackedId === undefined) report(`seq ${delivery.seq} was delivered but never acknowledged`);
      else if (ackedId !== delivery.messageId) {
        report(`seq ${delivery.seq} delivered message ${delivery.messageId}, acknowledged as ${ackedId}`);
      }
    });
    return problems;
  }
}

function countBetween(times: readonly number[], from: number, to: number): number {
  let count = 0;
  for (const time of times) if (time >= from && time < to) count++;
  return count;
}
