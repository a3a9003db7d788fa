/**
 * Fan-out across server nodes over Redis pub/sub.
 *
 * Vocabulary:
 * - Each user has a channel, `<prefix>user:<user id>`. A node is subscribed
 *   to it while the node has at least one local listener for that user (an
 *   open Subscribe stream or a waiting long-poll).
 * - A notification is the message a node publishes there after a commit:
 *   the new head of the user's log, the sender's node id and the publish
 *   time (see redis-notification.ts).
 * - The mode is sharded pub/sub (SPUBLISH/SSUBSCRIBE) when the server has it
 *   (Redis 7.0 and later), and classic PUBLISH/SUBSCRIBE otherwise. It is
 *   detected once, at the first connection.
 *
 * TODO: Redis Cluster needs ioredis's Cluster client, which sends each
 * SSUBSCRIBE to the shard that owns the channel. This standalone client gets
 * MOVED errors there, so readers would wait for their heartbeats.
 *
 * publish() calls local listeners at once and queues the notification.
 * Queued notifications go out as one pipeline, one per user with the highest
 * position, and while a pipeline is in flight new ones wait for the next.
 * A node drops its own notifications when Redis delivers them back.
 *
 * Delivery is at most once. A publish while the publisher is disconnected
 * is counted, logged and dropped, and Redis itself may drop a notification
 * without the publisher noticing. In both cases the receiving readers read
 * the event from the store at their next heartbeat instead. When
 * a lost subscriber connection comes back, the fan-out subscribes to every
 * channel again and then calls every local listener once with `undefined`,
 * so that readers re-read the store at once.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { ListenerRegistry } from "./listeners.js";
import { LogThrottle } from "./log-throttle.js";
import { connectOnce, createConnection, detectPubSubMode, redisAddress, type PubSubMode } from "./redis-connection.js";
import { ChannelNames, decodeNotification, encodeNotification } from "./redis-notification.js";
import type { FanOut, FanOutListener } from "./types.js";

export interface RedisFanOutHooks {
  /** Another node's notification arrived, `lagSeconds` after its publish by the sender's clock. */
  notificationReceived?(lagSeconds: number): void;
  /** Redis accepted `count` notifications, one per user whose log advanced since the previous pipeline. */
  published?(count: number): void;
  /** `count` notifications could not be published and were dropped. */
  publishFailed?(count: number): void;
  /** Called with true when both connections are ready and with false when one is lost or closed. */
  connectionChanged?(connected: boolean): void;
}

export interface RedisFanOutOptions {
  /** redis:// or rediss:// (TLS) URL. A password in it is sent to Redis and never logged. */
  url: string;
  logger: Logger;
  /** Prefix of every channel, so that deployments or tests can share one Redis. Default "chatwire:". */
  channelPrefix?: string;
  /** Metrics callbacks. */
  hooks?: RedisFanOutHooks;
  /** "auto" (default) detects sharded pub/sub; "classic" uses PUBLISH/SUBSCRIBE on any server. */
  pubSub?: "auto" | "classic";
  /** Timeout of each connection attempt in ms, the first one included. Default 10,000. */
  connectTimeoutMs?: number;
}

export interface RedisFanOut extends FanOut {
  readonly pubSubMode: PubSubMode;
  /** Random id of this fan-out, carried in its notifications. */
  readonly nodeId: string;
}

const DEFAULT_CHANNEL_PREFIX = "chatwire:";
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** At most one line per kind of repeated warning in this interval. */
const WARNING_INTERVAL_MS = 10_000;

/**
 * Connects the publisher and the subscriber connection and detects the
 * pub/sub mode. Rejects when either connection fails, so that a wrong URL
 * stops the server at start. Later connection losses are retried forever.
 */
export async function createRedisFanOut(options: RedisFanOutOptions): Promise<RedisFanOut> {
  const address = redisAddress(options.url);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const publisher = createConnection(options.url, "chatwire-fanout-publisher", timeoutMs);
  const subscriber = createConnection(options.url, "chatwire-fanout-subscriber", timeoutMs);
  const results = await Promise.allSettled([
    connectOnce(publisher, "fan-out publisher", address),
    connectOnce(subscriber, "fan-out subscriber", address),
  ]);

  const failure = results.find((result) => result.status === "rejected");
  if (failure !== undefined) {
    publisher.disconnect();
    subscriber.disconnect();
    throw failure.reason;
  }

  const logger = options.logger.child({ component: "fanout", redis: address });
  const channelPrefix = options.channelPrefix ?? DEFAULT_CHANNEL_PREFIX;
  const mode = options.pubSub === "classic" ? "classic" : await detectPubSubMode(publisher, logger);
  const fanOut = new RedisPubSubFanOut({
    publisher,
    subscriber,
    mode,
    logger,
    channels: new ChannelNames(channelPrefix),
    hooks: options.hooks ?? {},
  });

  logger.info(
    { mode, channelPrefix, nodeId: fanOut.nodeId },
    mode === "sharded" ? "fan-out uses Redis sharded pub/sub (SPUBLISH/SSUBSCRIBE)" : "fan-out uses Redis pub/sub (PUBLISH/SUBSCRIBE)",
  );
  return fanOut;
}

interface Parts {
  publisher: Redis;
  subscriber: Redis;
  mode: PubSubMode;
  logger: Logger;
  channels: ChannelNames;
  hooks: RedisFanOutHooks;
}

/** A notification waiting for the next pipeline. */
interface Queued {
  position: number;
  /** Time of the first publish() this notification covers, in Unix ms. */
  sentAtMs: number;
}

class RedisPubSubFanOut implements RedisFanOut {
  readonly mayLoseNotifications = true;
  readonly nodeId = randomUUID();
  readonly pubSubMode: PubSubMode;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #logger: Logger;
  readonly #channels: ChannelNames;
  readonly #hooks: RedisFanOutHooks;
  readonly #throttle: LogThrottle;
  readonly #listeners = new ListenerRegistry();
  #queued = new Map<string, Queued>();
  #flushScheduled = false;
  #inFlight: Promise<void> | undefined;
  #connected = true;
  #closing: Promise<void> | undefined;

  constructor(parts: Parts) {
    this.pubSubMode = parts.mode;
    this.#publisher = parts.publisher;
    this.#subscriber = parts.subscriber;
    this.#logger = parts.logger;
    this.#channels = parts.channels;
    this.#hooks = parts.hooks;
    this.#throttle = new LogThrottle(parts.logger, WARNING_INTERVAL_MS);
    this.#watch(this.#publisher, "publisher");
    this.#watch(this.#subscriber, "subscriber");
    this.#subscriber.on(this.pubSubMode === "sharded" ? "smessage" : "message", (channel: string, message: string) => {
      this.#receive(channel, message);
    });
    this.#hooks.connectionChanged?.(true);
  }

  publish(userId: string, position: number): void {
    if (this.#closing !== undefined) return;
    this.#listeners.notify(userId, position);
    const queued = this.#queued.get(userId);
    if (queued === undefined) {
      this.#queued.set(userId, { position, sentAtMs: Date.now() });
    } else if (position > queued.position) {
      queued.position = position;
    }
    this.#scheduleFlush();
  }

  subscribe(userId: string, listener: FanOutListener): () => void {
    if (this.#closing !== undefined) return () => {};
    if (this.#listeners.add(userId, listener)) this.#subscribeChannel(userId);
    return () => {
      if (this.#listeners.remove(userId, listener)) this.#unsubscribeChannel(userId);
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Notifications of the last commits still go out before the connection closes.
    while (this.#inFlight !== undefined || this.#queued.size > 0) {
      if (this.#inFlight === undefined) this.#flush();
      await this.#inFlight;
    }
    this.#listeners.clear();
    await Promise.all([quit(this.#publisher), quit(this.#subscriber)]);
    this.#setConnected(false);
    this.#logger.info({ nodeId: this.nodeId }, "fan-out closed its Redis connections");
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#inFlight !== undefined) return;
    this.#flushScheduled = true;
    // A microtask lets every publish() of one commit (one per member) join the pipeline.
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#queued.size === 0 || this.#inFlight !== undefined) return;
    const batch = this.#queued;
    this.#queued = new Map();
    if (this.#publisher.status !== "ready") {
      this.#publishFailed(batch.size, new Error(`the publisher connection is ${this.#publisher.status}`));
      return;
    }
    const pipeline = this.#publisher.pipeline();
    for (const [userId, queued] of batch) {
      const channel = this.#channels.forUser(userId);
      const message = encodeNotification({ node: this.nodeId, position: queued.position, sentAtMs: queued.sentAtMs });
      if (this.pubSubMode === "sharded") {
        pipeline.spublish(channel, message);
      } else {
        pipeline.publish(channel, message);
      }
    }
    let executing;
    try {
      executing = pipeline.exec();
    } catch (error) {
      this.#publishFailed(batch.size, error);
      return;
    }
    this.#inFlight = executing.then(
      (results) => {
        const errors = results === null ? [] : results.flatMap(([error]) => (error === null ? [] : [error]));
        if (results === null) {
          this.#publishFailed(batch.size, new Error("the pipeline was discarded"));
          return;
        }
        if (errors.length < batch.size) this.#hooks.published?.(batch.size - errors.length);
        if (errors.length > 0) this.#publishFailed(errors.length, errors[0]);
      },
      (error: unknown) => this.#publishFailed(batch.size, error),
    ).finally(() => {
      this.#inFlight = undefined;
      if (this.#queued.size > 0) this.#scheduleFlush();
    });
  }

  #publishFailed(count: number, error: unknown): void {
    this.#hooks.publishFailed?.(count);
    this.#throttle.warn(
      "publish",
      { err: error, notifications: count },
      "fan-out could not publish to Redis; readers on other nodes get these events at their next heartbeat",
    );
  }

  #receive(channel: string, message: string): void {
    const userId = this.#channels.userOf(channel);
    if (userId === undefined) return;
    const notification = decodeNotification(message);
    if (notification === undefined) {
      this.#throttle.warn("malformed", { channel }, "fan-out received a message that is not a notification; its readers re-read the store");
      this.#listeners.notify(userId, undefined);
      return;
    }
    if (notification.node === this.nodeId) return;
    this.#hooks.notificationReceived?.(Math.max(0, Date.now() - notification.sentAtMs) / 1000);
    this.#listeners.notify(userId, notification.position);
  }

  /**
   * Subscribes to the user's channel, then calls the user's listeners with
   * `undefined`: notifications published before the subscription was active
   * did not reach this node. Does nothing while the subscriber is down,
   * because the reconnect subscribes to every channel.
   */
  #subscribeChannel(userId: string): void {
    if (this.#subscriber.status !== "ready") return;
    const channel = this.#channels.forUser(userId);
    const subscribing = this.pubSubMode === "sharded" ? this.#subscriber.ssubscribe(channel) : this.#subscriber.subscribe(channel);
    subscribing
      .catch((error: unknown) => {
        this.#throttle.warn("subscribe", { err: error, userId }, "fan-out could not subscribe to a user's channel; the user's readers rely on heartbeats");
      })
      .finally(() => this.#listeners.notify(userId, undefined));
  }

  #unsubscribeChannel(userId: string): void {
    if (this.#subscriber.status !== "ready") return;
    const channel = this.#channels.forUser(userId);
    const unsubscribing = this.pubSubMode === "sharded" ? this.#subscriber.sunsubscribe(channel) : this.#subscriber.unsubscribe(channel);
    unsubscribing.catch((error: unknown) => {
      this.#throttle.warn("unsubscribe", { err: error, userId }, "fan-out could not unsubscribe from a user's channel");
    });
  }

  /** Logs connection losses and reconnects, and resubscribes when the subscriber comes back. */
  #watch(redis: Redis, role: "publisher" | "subscriber"): void {
    let lostAt: number | undefined;
    redis.on("error", (error: Error) => {
      if (this.#closing !== undefined) return;
      this.#throttle.warn(`error:${role}`, { err: error, role }, "fan-out Redis connection failed");
    });
    redis.on("close", () => {
      if (this.#closing !== undefined || lostAt !== undefined) return;
      lostAt = Date.now();
      this.#logger.warn({ role }, "fan-out lost its Redis connection; reconnecting");
      this.#setConnected(false);
    });
    redis.on("ready", () => {
      if (this.#closing !== undefined) return;
      const downMs = lostAt === undefined ? 0 : Date.now() - lostAt;
      lostAt = undefined;
      if (role === "subscriber") {
        const users = [...this.#listeners.users()];
        this.#logger.info({ role, downMs, channels: users.length }, "fan-out reconnected to Redis; subscribing to every channel again");
        for (const userId of users) this.#subscribeChannel(userId);
      } else {
        this.#logger.info({ role, downMs }, "fan-out reconnected to Redis");
      }
      this.#setConnected(this.#publisher.status === "ready" && this.#subscriber.status === "ready");
    });
  }

  #setConnected(connected: boolean): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    this.#hooks.connectionChanged?.(connected);
  }
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status !== "ready") {
    redis.disconnect();
    return;
  }
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
