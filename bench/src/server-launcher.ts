// NOTE: @chatwire/conformance resolves through the workspace link in
// node_modules, but bench/package.json does not list it yet, because adding
// it also needs a package-lock.json update.
export { startServerProcess, type ServerProcess, type ServerProcessOptions } from "@chatwire/conformance";
