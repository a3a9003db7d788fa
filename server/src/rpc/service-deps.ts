/** Dependencies the RPC handlers share: the store, the readers' hub and the server's limits. */
import type { Logger } from "pino";
import type { ServerMetrics } from "../metrics.js";
import type { ResolvedOptions } from "../options.js";
import type { Store } from "../store/types.js";
import type { StreamHub } from "../streams/hub.js";

export interface ServiceDeps {
  store: Store;
  hub: StreamHub;
  metrics: ServerMetrics;
  logger: Logger;
  limits: Pick<
    ResolvedOptions,
    | "maxMessageBytes"
    | "maxMembers"
    | "maxPageSize"
    | "defaultPageSize"
    | "maxLongPollMs"
    | "heartbeatMs"
    | "rateLimit"
    | "retentionSeconds"
    | "maxStreamsPerUser"
  >;
}

/**
 * Stores the device's cursor without making the caller wait for the commit:
 * the stored cursor only records progress, and the next call stores it again.
 */
export function recordCursorInBackground(deps: ServiceDeps, userId: string, deviceId: string, position: number): void {
  deps.store.recordDeviceCursor(userId, deviceId, position).catch((error: unknown) => {
    deps.logger.warn({ err: error, userId, deviceId }, "could not store the device cursor");
  });
}
