/**
 * The faults a proxy applies, shared by the proxy and its connections.
 *
 * The proxy changes these fields; each connection reads them on every chunk,
 * so a change takes effect on current connections at the next byte.
 */
export interface FaultPolicy {
  /** Milliseconds each chunk is held before it is forwarded, in both directions. */
  delayMs: number;
  /** True while no byte is forwarded in either direction and no socket is closed. */
  stalled: boolean;
  /** True while new connections are accepted and never forwarded. */
  blackhole: boolean;
  /** Server-to-client bytes each new connection may carry before it is cut, or undefined. */
  responseByteLimit: number | undefined;
  /** Called once when the next server-to-client chunk on any connection is dropped and its connection cut, or undefined. */
  onNextResponse: (() => void) | undefined;
  /** Age in ms at which every connection is cut, or undefined for no limit. */
  maxConnectionAgeMs: number | undefined;
}

/** Returns the policy of a pass-through proxy. */
export function passThroughPolicy(): FaultPolicy {
  return {
    delayMs: 0,
    stalled: false,
    blackhole: false,
    responseByteLimit: undefined,
    onNextResponse: undefined,
    maxConnectionAgeMs: undefined,
  };
}

/** Traffic counters of a proxy since it started. */
export interface FaultProxyStats {
  /** Connections accepted, blackholed ones included. */
  connectionsAccepted: number;
  /** Connections not yet closed, blackholed ones included. */
  connectionsOpen: number;
  /** Bytes forwarded from clients to the target. */
  bytesToServer: number;
  /** Bytes forwarded from the target to clients. */
  bytesToClient: number;
  /** Bytes read and discarded: by cutOnNextResponse, by a cut, and by blackholed connections. */
  bytesDropped: number;
  /** Connections the proxy destroyed on purpose (cutAll and the cut* controls). */
  cuts: number;
}

/** Returns counters that are all zero. */
export function emptyStats(): FaultProxyStats {
  return {
    connectionsAccepted: 0,
    connectionsOpen: 0,
    bytesToServer: 0,
    bytesToClient: 0,
    bytesDropped: 0,
    cuts: 0,
  };
}
