export { startCluster, type Cluster, type ClusterOptions } from "./cluster.js";
export {
  checkPostgres,
  countBackends,
  dropTestSchema,
  listBackendPids,
  newTestSchemaName,
  terminateBackends,
  TEST_SCHEMA_PREFIX,
  withApplicationName,
} from "./postgres-admin.js";
export { checkRedis } from "./redis-check.js";
