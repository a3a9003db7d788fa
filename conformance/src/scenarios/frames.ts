/** Matchers for the Subscribe frames an RPC proxy inspects. */
import { fromBinary } from "@bufbuild/protobuf";
import { SubscribeResponseSchema } from "@chatwire/gen";

/** Returns a matcher for a Subscribe frame whose batch carries a message with exactly `text`. */
export function batchWithText(text: string): (frame: Uint8Array) => boolean {
  return (frame) => {
    const response = fromBinary(SubscribeResponseSchema, frame);
    if (response.kind.case !== "batch") return false;
    return response.kind.value.events.some(
      (event) => event.kind.case === "message" && event.kind.value.message?.text === text,
    );
  };
}
