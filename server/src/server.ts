/**
 * startServer: wires the store, fan-out, RPC services and HTTP listener into
 * one running server, and takes it down again in order.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { JsonReadOptions } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ChatService, ConversationService } from "@chatwire/gen";
import { pino } from "pino";
import { loadOrCreateDevSecret } from "./auth/dev-secret.js";
import { checkSecret, createTokenVerifier } from "./auth/tokens.js";
import { createDevTokenRoute } from "./dev-token.js";
import { openFanOut, type OpenedFanOut } from "./fanout/open-fan-out.js";
import type { FanOut } from "./fanout/types.js";
import { listen } from "./http/listener.js";
import { openLimits, type OpenedLimits } from "./limits/open-limits.js";
import { createRoutes } from "./http/routes.js";
import { createMetrics } from "./metrics.js";
import { resolveOptions, type ServerOptions } from "./options.js";
import { createChatService } from "./rpc/chat-service.js";
import { createConversationService } from "./rpc/conversation-service.js";
import { createServerInterceptor } from "./rpc/interceptor.js";
import type { ServiceDeps } from "./rpc/service-deps.js";
import { openStore } from "./store/open-store.js";
import type { Store } from "./store/types.js";
import { StreamHub } from "./streams/hub.js";
import { startRetention } from "./retention.js";

export interface RunningServer {
  /** Base URL for clients, as in http://127.0.0.1:8080. */
  url: string;
  /** The bound port (the chosen one when the options asked for port 0). */
  port: number;
  /**
   * Shuts down gracefully: stops accepting connections, returns 503 from
   * /healthz, ends Subscribe streams with unavailable, waits for in-flight calls
   * and commits, then closes connections and the database.
   */
  close(): Promise<void>;
}

export { DATABASE_FILE } from "./store/open-store.js";

/** Parts that replace what startServer would build; for tests, and not exported by the package. */
export interface ServerParts {
  /** A fan-out in place of the configured one; the server closes it. */
  fanOut?: FanOut;
}

export function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  return startServerWith(options, {});
}

export async function startServerWith(options: ServerOptions, parts: ServerParts): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: "silent" });
  const config = resolveOptions(options, logger);
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });

  let secret = config.jwtSecret;
  if (secret !== undefined) checkSecret("jwtSecret", secret);
  if (secret === undefined && config.dev) secret = loadOrCreateDevSecret(dataDir);
  if (secret === undefined && config.jwks === undefined) {
    throw new Error(
      "no way to verify bearer tokens: set jwtSecret (HS256) or jwks (asymmetric keys), or enable dev mode",
    );
  }

  const metrics = createMetrics();
  const fanOutOpened: OpenedFanOut =
    parts.fanOut === undefined ? await openFanOut(config, metrics, logger) : { fanOut: parts.fanOut, description: { fanOut: "custom" } };
  const fanOut = fanOutOpened.fanOut;
  let opened;
  try {
    opened = await openStore(
      config,
      dataDir,
      {
        eventsCommitted(heads) {
          for (const [userId, position] of heads) fanOut.publish(userId, position);
        },
        batchCommitted(size, latencies) {
          metrics.commitBatchSize.observe(size);
          for (const seconds of latencies) metrics.commitLatency.observe(seconds);
        },
      },
      metrics,
      logger,
    );
  } catch (error) {
    await fanOut.close();
    throw error;
  }
  let store: Store;
  let limits: OpenedLimits;
  try {
    store = config.decorateStore?.(opened.store) ?? opened.store;
    limits = await openLimits(config, metrics, logger);
  } catch (error) {
    await opened.store.close();
    await fanOut.close();
    throw error;
  }
  const hub = new StreamHub({
    fanOut,
    heartbeatMs: config.heartbeatMs,
    maxStreamsPerUser: config.maxStreamsPerUser,
    leases: limits.leases,
    onCountChange: (open) => metrics.streamsOpen.set(open),
    onWaitingPollsChange: (waiting) => metrics.longPollsWaiting.set(waiting),
  });

  let draining = false;
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const limiter = limits.limiter;
  const deps: ServiceDeps = { store, hub, metrics, logger, limits: config };
  // A fatal decoder turns invalid UTF-8 in a JSON body into invalid_argument
  // instead of U+FFFD. NOTE: @connectrpc/connect 2.1.1 reads textDecoder in
  // createJsonSerialization (protocol/serialization.js), but the router's
  // jsonOptions type does not declare it, so it is passed as a variable.
  const jsonOptions: Partial<JsonReadOptions> & { textDecoder: { decode(data: Uint8Array): string } } = {
    textDecoder: new TextDecoder("utf-8", { fatal: true }),
  };
  // NOTE: @connectrpc/connect 2.1.1 answers a body that is not valid protobuf
  // binary with internal ("parse binary: ..."), hard-coded in
  // createBinarySerialization (protocol/serialization.js), before interceptors run.
  const rpc = connectNodeAdapter({
    routes(router: ConnectRouter) {
      router.service(ChatService, createChatService(deps));
      router.service(ConversationService, createConversationService(deps));
    },
    readMaxBytes: config.readMaxBytes,
    jsonOptions,
    interceptors: [
      createServerInterceptor({
        verify: createTokenVerifier({
          secret,
          jwks: config.jwks,
          issuer: config.jwtIssuer,
          audience: config.jwtAudience,
        }),
        limiter,
        rateLimit: config.rateLimit,
        metrics,
        logger,
        draining: () => draining,
        inFlight: {
          enter: () => void inFlight++,
          leave: () => {
            inFlight--;
            if (inFlight === 0) onIdle?.();
          },
        },
      }),
      ...config.interceptors,
    ],
  });
  const handler = createRoutes({
    rpc,
    registry: metrics.registry,
    draining: () => draining,
    devToken: config.dev && secret !== undefined ? createDevTokenRoute(secret, config.jwtIssuer, config.jwtAudience) : undefined,
    onError(error, path) {
      logger.error({ err: error, path }, "unexpected error while serving an HTTP route");
    },
  });

  let listener;
  try {
    listener = await listen(handler, config.port, config.host, {
      headersTimeoutMs: config.headersTimeoutMs,
      requestTimeoutMs: config.requestTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
    });
  } catch (error) {
    await store.close();
    await limits.close();
    await fanOut.close();
    throw error;
  }
  const retention = startRetention({ store, logger, retentionSeconds: config.retentionSeconds, intervalMs: config.pruneIntervalMs });
  const sweeper = setInterval(() => limiter.sweep(), 10_000).unref();

  const hostInUrl = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${hostInUrl}:${listener.port}`;
  logger.info(
    {
      url,
      ...opened.description,
      ...fanOutOpened.description,
      dev: config.dev,
      auth: [secret === undefined ? undefined : "HS256", config.jwks === undefined ? undefined : "JWKS"].filter(Boolean),
    },
    "chatwire server listening",
  );

  let closing: Promise<void> | undefined;
  const close = async () => {
    draining = true;
    listener.stopAccepting();
    hub.closeAll();
    if (inFlight > 0) {
      await new Promise<void>((resolveIdle) => {
        const timer = setTimeout(resolveIdle, config.shutdownGraceMs);
        onIdle = () => {
          clearTimeout(timer);
          resolveIdle();
        };
      });
    }
    await retention.stop();
    await store.close();
    clearInterval(sweeper);
    await listener.closeConnections(config.shutdownGraceMs);
    await limits.close();
    await fanOut.close();
    logger.info({ url }, "chatwire server stopped");
  };

  return {
    url,
    port: listener.port,
    close() {
      closing ??= close();
      return closing;
    },
  };
}
