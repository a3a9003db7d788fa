/** The client runtime contract and the Node runtime. */
export type {
  ClientEvent,
  ClientHost,
  ClientOptions,
  ClientRuntime,
  ClientSnapshot,
  ConversationView,
  HostExit,
  MessageStatus,
  MessageView,
  OutboxView,
  RuntimeClient,
  StoredMessage,
  WaitCondition,
} from "./types.js";
export { conditionHolds, describeSnapshot } from "./conditions.js";
export { connectHost, type HostChannel } from "./host-connection.js";
export { dispatchCall, HOST_METHODS, type HostInit, type HostMessage, type ParentMessage } from "./host-protocol.js";
export { offsetClock, startSdkDriver, type SdkDriverParts } from "./sdk-driver.js";
export { createNodeRuntime, NODE_CLAIM, type NodeRuntimeOptions } from "./node.js";
export { startNodeClient, type NodeClientCustomization, type NodeClientSpec } from "./node-client.js";
export { serveNodeHost } from "./node-host-loop.js";
