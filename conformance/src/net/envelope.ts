/**
 * The length-prefixed envelopes of streaming RPC bodies. Connect streaming,
 * gRPC and gRPC-Web frame each message as one flags byte, a 4-byte
 * big-endian payload length and the payload.
 *
 * Flags: 0x01 marks a compressed payload; 0x02 marks the Connect
 * end-of-stream message (JSON) and 0x80 the gRPC-Web trailers, neither of
 * which is a protobuf message.
 */
import { brotliDecompressSync, gunzipSync } from "node:zlib";

const HEADER_BYTES = 5;
const COMPRESSED = 0x01;
const NOT_A_MESSAGE = 0x02 | 0x80;

/** One envelope as it travelled, with its payload. */
export interface Envelope {
  flags: number;
  /** The whole envelope, header included, to forward unchanged. */
  bytes: Buffer;
  payload: Buffer;
}

/** Tells whether a response with this content type is a sequence of envelopes. */
export function isEnveloped(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/(connect\+|grpc)/.test(contentType);
}

/** Reassembles envelopes from body chunks cut anywhere. */
export class EnvelopeSplitter {
  #buffer: Buffer = Buffer.alloc(0);

  /** Adds a chunk and returns the envelopes it completed, in order. */
  push(chunk: Buffer): Envelope[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const envelopes: Envelope[] = [];
    while (this.#buffer.length >= HEADER_BYTES) {
      const length = this.#buffer.readUInt32BE(1);
      const end = HEADER_BYTES + length;
      if (this.#buffer.length < end) break;
      const bytes = this.#buffer.subarray(0, end);
      envelopes.push({ flags: bytes[0]!, bytes, payload: bytes.subarray(HEADER_BYTES) });
      this.#buffer = this.#buffer.subarray(end);
    }
    return envelopes;
  }

  /** Bytes of an envelope not yet complete. */
  get pendingBytes(): number {
    return this.#buffer.length;
  }
}

/**
 * Returns the protobuf bytes of a message envelope, decompressed with the
 * response's encoding ("gzip", "br" or "identity"), or undefined for an
 * envelope that carries no message (end of stream, trailers).
 */
export function messagePayload(envelope: Envelope, encoding: string | undefined): Uint8Array | undefined {
  if ((envelope.flags & NOT_A_MESSAGE) !== 0) return undefined;
  if ((envelope.flags & COMPRESSED) === 0) return envelope.payload;
  switch (encoding) {
    case "gzip":
      return gunzipSync(envelope.payload);
    case "br":
      return brotliDecompressSync(envelope.payload);
    default:
      throw new Error(`a compressed envelope uses encoding ${JSON.stringify(encoding)}; only gzip and br can be read`);
  }
}
