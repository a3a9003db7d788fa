// Entry point of the generated chatwire.v1 code. The files under src/ are
// written by `npm run generate` (buf with protoc-gen-es) and never by hand.
export * from "./src/chatwire/v1/chat_service_pb.js";
export * from "./src/chatwire/v1/conversation_pb.js";
export * from "./src/chatwire/v1/conversation_service_pb.js";
export * from "./src/chatwire/v1/error_pb.js";
export * from "./src/chatwire/v1/event_pb.js";
export * from "./src/chatwire/v1/message_pb.js";
