/** Page tokens of ListConversations: base64url text of "p1.<activity ms>.<conversation id>". */
import type { ConversationPageKey } from "../store/types.js";
import { fieldInvalid } from "./errors.js";

const PAGE_TOKEN_TEXT = /^p1\.(0|[1-9][0-9]{0,15})\.([A-Za-z0-9_-]{1,128})$/;

export function encodePageToken(key: ConversationPageKey): string {
  return Buffer.from(`p1.${key.activityAt}.${key.conversationId}`).toString("base64url");
}

export function decodePageToken(token: string): ConversationPageKey | undefined {
  if (token === "") return undefined;
  const match = token.length <= 300 ? PAGE_TOKEN_TEXT.exec(Buffer.from(token, "base64url").toString("latin1")) : null;
  const activityAt = Number(match?.[1]);
  if (match === null || match[2] === undefined || !Number.isSafeInteger(activityAt)) {
    throw fieldInvalid(
      "page_token",
      "page_token is not a token this server issued; pass next_page_token unchanged, or empty for the first page",
    );
  }
  return { activityAt, conversationId: match[2] };
}
