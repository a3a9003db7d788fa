export { startFaultProxy, type FaultProxy, type FaultProxyOptions } from "./fault-proxy.js";
export type { FaultProxyStats } from "./fault-policy.js";
export { startRpcProxy, type RpcProxy, type RpcProxyOptions, type RpcProxyStats } from "./rpc-proxy.js";
export { pickFreePort } from "./free-port.js";
export {
  startLoadBalancer,
  type Backend,
  type BackendStats,
  type LoadBalancer,
  type LoadBalancerOptions,
  type LoadBalancerStats,
} from "./load-balancer.js";
