// The storage contract comes from sdk-core. It is imported from the source
// file so this suite builds even while the rest of sdk-core does not.
// TODO: import from "@chatwire/sdk-core" once its index exports the storage types.
export type {
  ChatStorage,
  ConversationRecord,
  MemberRecord,
  MessageRange,
  MessageRecord,
  MetaKey,
  OutboxEntry,
  StorageTransaction,
} from "../../../sdk-core/src/storage/types.js";
