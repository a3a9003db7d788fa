/**
 * The parts of @chatwire/conformance the demo uses: the server launcher,
 * the fault proxy, client hosts in child processes and the transcript.
 *
 * The conformance package depends on this one and builds after it, so the
 * demo loads it at run time (after `npm run build`) instead of importing it,
 * and declares here the few signatures it relies on.
 */

/** A chatwire-server child process. */
export interface DemoServer {
  readonly url: string;
  token(userId: string): Promise<string>;
  stop(): Promise<unknown>;
}

/** A TCP proxy between a client and the server. */
export interface DemoProxy {
  readonly url: string;
  /** Accepts new connections and forwards nothing. */
  blackhole(): void;
  /** Destroys every open connection. */
  cutAll(): void;
  /** Back to pass-through. */
  reset(): void;
  close(): Promise<void>;
}

/** A message a client stores after the server committed it. */
export interface DemoStoredMessage {
  seq: number;
  clientMessageId: string;
  senderId: string;
  text: string;
}

/** A client's state at one moment. */
export interface DemoSnapshot {
  connection: string;
  conversations: { conversationId: string; lastSeq: number }[];
  stored: Record<string, DemoStoredMessage[]>;
  outbox: { clientMessageId: string; conversationId: string; text: string; state: string }[];
}

/** A condition a client host waits for. */
export type DemoCondition =
  | { kind: "stored"; conversationId: string; count: number }
  | { kind: "outbox-drained" }
  | { kind: "connection"; state: string }
  | { kind: "status"; conversationId: string; clientMessageId: string; status: "sent" }
  | { kind: "conversation"; conversationId: string };

/** A chatwire client in a child process. */
export interface DemoHost {
  send(conversationId: string, text: string): Promise<{ clientMessageId: string }>;
  createDirect(otherUserId: string): Promise<string>;
  setNetworkAvailable(available: boolean): Promise<void>;
  snapshot(): Promise<DemoSnapshot>;
  waitFor(condition: DemoCondition, timeoutMs: number): Promise<DemoSnapshot>;
  kill(): Promise<{ code: number | null; signal: string | null }>;
  close(): Promise<void>;
}

/** Options of a client host. */
export interface DemoHostOptions {
  userId: string;
  baseUrl: string;
  storageName: string;
  getToken(request: { reason: string }): Promise<string>;
}

/** The Node client runtime of the conformance suite. */
export interface DemoRuntime {
  startHost(options: DemoHostOptions): Promise<DemoHost>;
  /** The SQLite file a storage name maps to. */
  storagePath(storageName: string): string;
  close(): Promise<void>;
}

/** One line of the transcript fixture. */
export interface DemoTranscriptLine {
  n: number;
  conversation: string;
  sender: string;
  text: string;
}

/** The exports of @chatwire/conformance that the demo loads. */
export interface DemoToolkit {
  startServerProcess(options?: { dataDir?: string; args?: string[] }): Promise<DemoServer>;
  startFaultProxy(options: { target: { host: string; port: number } }): Promise<DemoProxy>;
  createNodeRuntime(options?: { storageDir?: string; onHostLog?: (line: string) => void }): Promise<DemoRuntime>;
  loadTranscript(): Promise<DemoTranscriptLine[]>;
  textOfBytes(bytes: number): string;
}

/** Loads @chatwire/conformance from its build output; fails with the build command when it is missing. */
export async function loadToolkit(): Promise<DemoToolkit> {
  const specifier = "@chatwire/conformance";
  try {
    return (await import(specifier)) as DemoToolkit;
  } catch (error) {
    throw new Error(
      `could not load ${specifier} (${error instanceof Error ? error.message : String(error)}); ` +
        "build the workspace first with `npm run build`",
    );
  }
}
