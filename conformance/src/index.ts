/**
 * The chatwire conformance suite: end-to-end scenarios written once and run
 * against every client runtime, the runtime contract they drive, the
 * black-box server suite, a fault proxy for network failures, a launcher
 * for real server processes, and multi-node clusters on PostgreSQL and
 * Redis behind a TCP load balancer.
 *
 * The storage contract suite (`src/storage/`) needs vitest and is imported
 * by path from test files, not from this entry point.
 */
export * from "./scenarios/index.js";
export * from "./runtimes/index.js";
export {
  startFaultProxy,
  startRpcProxy,
  pickFreePort,
  type FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
  type RpcProxy,
  type RpcProxyOptions,
  type RpcProxyStats,
} from "./net/index.js";
export { startLoadBalancer, type LoadBalancer, type LoadBalancerOptions, type LoadBalancerStats } from "./net/index.js";
export {
  mintToken,
  startServerProcess,
  type ServerExit,
  type ServerProcess,
  type ServerProcessOptions,
} from "./server-process.js";
export * from "./server-suite/index.js";
export * from "./cluster/index.js";
export * from "./tags.js";
export * from "./report/index.js";
export { runClientSuite, type ClientSuiteOptions } from "./suites/client-suite.js";
export { QUICK_SERVER_ARGS } from "./suites/quick-limits.js";
