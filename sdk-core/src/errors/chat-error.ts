import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema, ErrorReason, ErrorReasonSchema } from "@chatwire/gen";

/** The machine-readable part of a server error (chatwire.v1.ErrorDetail). */
export interface ChatErrorDetail {
  /** The request field at fault ("text", "member_ids[2]"), or empty. */
  field: string;
  /** The limit that was exceeded, in the limit's unit, or 0. */
  limit: number;
  /** The value that exceeded the limit, in the same unit, or 0. */
  actual: number;
  /** For rate limits: how long to wait before the next request, in ms. */
  retryAfterMs: number;
}

interface ChatErrorInit {
  reason?: ErrorReason;
  detail?: ChatErrorDetail;
  cause?: unknown;
}

/**
 * The one error type of the client. `code` is the Connect code (the primary
 * signal), `reason` the chatwire.v1 ErrorReason when the server sent one, and
 * the message names the value, the limit and what to do next.
 */
export class ChatError extends Error {
  override name = "ChatError";
  readonly code: Code;
  readonly reason: ErrorReason | undefined;
  readonly detail: ChatErrorDetail | undefined;

  constructor(code: Code, message: string, init: ChatErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.reason = init.reason;
    this.detail = init.detail;
  }

  /** The code in Connect's lowercase form, such as "invalid_argument". */
  get codeName(): string {
    return codeName(this.code);
  }

  /** The reason as its protocol name, such as "ERROR_REASON_CURSOR_EXPIRED", or undefined. */
  get reasonName(): string | undefined {
    return this.reason === undefined ? undefined : reasonName(this.reason);
  }

  /**
   * Converts anything thrown into a ChatError. A ConnectError keeps its code
   * and gets the reason and detail from its chatwire.v1.ErrorDetail; other
   * values become `unknown` with the value as `cause`.
   */
  static from(value: unknown): ChatError {
    if (value instanceof ChatError) return value;
    const connectError = ConnectError.from(value);
    const [found] = connectError.findDetails(ErrorDetailSchema);
    if (found === undefined || found.reason === ErrorReason.UNSPECIFIED) {
      return new ChatError(connectError.code, connectError.rawMessage, { cause: value });
    }
    return new ChatError(connectError.code, connectError.rawMessage, {
      reason: found.reason,
      detail: {
        field: found.field,
        limit: Number(found.limit),
        actual: Number(found.actual),
        retryAfterMs: found.retryAfterMs,
      },
      cause: value,
    });
  }
}

/** Returns Connect's lowercase name of a code ("invalid_argument"). */
export function codeName(code: Code): string {
  const name = Code[code] as string | undefined;
  if (name === undefined) return `code_${code}`;
  return name.replace(/[A-Z]/g, (letter, index: number) => (index === 0 ? "" : "_") + letter.toLowerCase());
}

/** Returns the protocol name of a reason ("ERROR_REASON_CURSOR_EXPIRED"). */
export function reasonName(reason: ErrorReason): string {
  return ErrorReasonSchema.value[reason]?.name ?? `ERROR_REASON_${reason}`;
}
