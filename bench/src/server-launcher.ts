export { startServerProcess, type ServerProcess, type ServerProcessOptions } from "@chatwire/conformance";
