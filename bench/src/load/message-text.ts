/**
 * Builds a message text that carries its send time (performance.now(), in
 * ms) and is padded to `bytes` bytes, so every message has the same size.
 */
export function stampedText(sentAt: number, bytes: number): string {
  const stamp = `t=${sentAt.toFixed(4)};`;
  return stamp.length >= bytes ? stamp : stamp + "x".repeat(bytes - stamp.length);
}

/** Returns the send time stamped by stampedText(), or undefined for another text. */
export function readStamp(text: string): number | undefined {
  const match = /^t=([0-9.]+);/.exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
