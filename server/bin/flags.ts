/**
 * Command-line flags of chatwire-server. Each flag has an environment
 * variable; a flag given on the command line wins over its variable.
 */
export type FlagKind = "integer" | "string" | "boolean" | "choice";

export interface Flag {
  name: string;
  env: string;
  kind: FlagKind;
  /** Shown in --help; undefined when the flag has no default. */
  defaultText?: string;
  unit?: string;
  choices?: string[];
  min?: number;
  max?: number;
  /** Placeholder for the value in --help. */
  placeholder?: string;
  help: string;
}

export const FLAGS: Flag[] = [
  { name: "port", env: "PORT", kind: "integer", defaultText: "8080", min: 0, max: 65_535, help: "TCP port for HTTP/1.1 and HTTP/2 (h2c); 0 picks a free port." },
  { name: "host", env: "HOST", kind: "string", defaultText: "127.0.0.1", help: "Address to listen on. Use 0.0.0.0 in a container so that the published port reaches the server." },
  { name: "data-dir", env: "DATA_DIR", kind: "string", placeholder: "<path>", defaultText: "./data", help: "Directory of the SQLite database (chatwire.sqlite, unused with --database-url) and the development secret." },
  { name: "dev", env: "CHATWIRE_DEV", kind: "boolean", defaultText: "off", help: "Development mode: serves GET /dev/token?user=<id>[&ttl=<seconds>] and, without a secret or key set, signs with a secret generated once and kept in the data directory. Never enable it where others can reach the server." },
  { name: "jwt-secret", env: "CHATWIRE_JWT_SECRET", kind: "string", help: "HS256 secret for bearer tokens, at least 32 bytes. Prefer the environment variable: command lines are visible to other users." },
  { name: "jwks-file", env: "CHATWIRE_JWKS_FILE", kind: "string", placeholder: "<path>", help: "JSON Web Key Set file with public keys for asymmetric tokens (EdDSA, ES256, RS256, ...)." },
  { name: "jwt-issuer", env: "CHATWIRE_JWT_ISSUER", kind: "string", help: "Required iss claim; unset accepts any issuer." },
  { name: "jwt-audience", env: "CHATWIRE_JWT_AUDIENCE", kind: "string", help: "Required aud claim; unset accepts any audience." },
  { name: "max-message-bytes", env: "CHATWIRE_MAX_MESSAGE_BYTES", kind: "integer", defaultText: "16384", unit: "bytes", min: 1, max: 64 * 1024 * 1024, help: "Maximum message text in UTF-8 bytes." },
  { name: "max-members", env: "CHATWIRE_MAX_MEMBERS", kind: "integer", defaultText: "500", unit: "members", min: 2, max: 100_000, help: "Maximum members per conversation." },
  { name: "max-page-size", env: "CHATWIRE_MAX_PAGE_SIZE", kind: "integer", defaultText: "1000", unit: "items", min: 1, max: 100_000, help: "Maximum events, messages or conversations per page." },
  { name: "default-page-size", env: "CHATWIRE_DEFAULT_PAGE_SIZE", kind: "integer", defaultText: "500", unit: "items", min: 1, max: 100_000, help: "Page size when a request leaves it 0; also the batch size of Subscribe catch-up." },
  { name: "max-long-poll-ms", env: "CHATWIRE_MAX_LONG_POLL_MS", kind: "integer", defaultText: "30000", unit: "ms", min: 0, max: 3_600_000, help: "Maximum Sync wait_ms." },
  { name: "heartbeat-ms", env: "CHATWIRE_HEARTBEAT_MS", kind: "integer", defaultText: "10000", unit: "ms", min: 10, max: 3_600_000, help: "Heartbeat interval on idle Subscribe streams; clients give up after about 2.5 intervals." },
  { name: "max-streams-per-user", env: "CHATWIRE_MAX_STREAMS_PER_USER", kind: "integer", defaultText: "20", unit: "streams per user", min: 1, max: 1_000_000, help: "Subscribe streams plus waiting long-poll Syncs one user may have open at once; one more gets resource_exhausted. The default leaves room for several devices and tabs per user, plus a new stream opened while the old one is still closing." },
  { name: "rate-limit", env: "CHATWIRE_RATE_LIMIT", kind: "integer", defaultText: "100", unit: "requests/s per user", min: 0, max: 1_000_000, help: "Token bucket per user with bursts of twice the rate; 0 disables it." },
  { name: "retention-seconds", env: "CHATWIRE_RETENTION_SECONDS", kind: "integer", defaultText: "2592000 (30 days)", unit: "seconds", min: 1, max: 9_007_199_254_740, help: "How long events are kept; older cursors get CURSOR_EXPIRED." },
  { name: "prune-interval-ms", env: "CHATWIRE_PRUNE_INTERVAL_MS", kind: "integer", defaultText: "600000 (10 minutes)", unit: "ms", min: 10, max: 2_147_483_647, help: "How often events older than the retention are deleted." },
  { name: "sqlite-synchronous", env: "CHATWIRE_SQLITE_SYNCHRONOUS", kind: "choice", choices: ["full", "normal"], defaultText: "full", help: "full fsyncs every commit (acknowledged messages survive power loss); normal survives process crashes only." },
  { name: "database-url", env: "CHATWIRE_DATABASE_URL", kind: "string", placeholder: "<url>", help: "PostgreSQL URL, as in postgres://user:password@host:5432/database. When set, the data lives in PostgreSQL instead of SQLite, and several servers can share it. Prefer the environment variable when the URL contains a password: command lines are visible to other users." },
  { name: "database-pool-max", env: "CHATWIRE_DATABASE_POOL_MAX", kind: "integer", defaultText: "10", unit: "connections", min: 1, max: 10_000, help: "Maximum number of PostgreSQL connections this server opens at once. Keep the sum over all servers below the database's max_connections." },
  { name: "database-schema", env: "CHATWIRE_DATABASE_SCHEMA", kind: "string", placeholder: "<name>", defaultText: "chatwire", help: "PostgreSQL schema of the tables, created with them when missing: 1 to 63 characters of a-z, 0-9 and '_'." },
  { name: "redis-url", env: "CHATWIRE_REDIS_URL", kind: "string", placeholder: "<url>", help: "Redis URL (redis://host:6379, or rediss:// for TLS) for waking readers on the other servers of a deployment after each commit. Needs --database-url, because servers that wake each other must share one store. Unset: readers are woken only within this server. Prefer the environment variable when the URL contains a password." },
  { name: "redis-channel-prefix", env: "CHATWIRE_REDIS_CHANNEL_PREFIX", kind: "string", placeholder: "<prefix>", defaultText: "chatwire:", help: "Prefix of the Redis channel names, so that several deployments can share one Redis." },
  { name: "headers-timeout-ms", env: "CHATWIRE_HEADERS_TIMEOUT_MS", kind: "integer", defaultText: "10000", unit: "ms", min: 10, max: 3_600_000, help: "Deadline for a new connection to send complete HTTP/1.1 request headers or the HTTP/2 preface and SETTINGS; restarts after each response on HTTP/1.1 keep-alive." },
  { name: "request-timeout-ms", env: "CHATWIRE_REQUEST_TIMEOUT_MS", kind: "integer", defaultText: "60000", unit: "ms", min: 10, max: 3_600_000, help: "Deadline for a request body after its headers." },
  { name: "idle-timeout-ms", env: "CHATWIRE_IDLE_TIMEOUT_MS", kind: "integer", defaultText: "60000", unit: "ms", min: 10, max: 3_600_000, help: "How long an HTTP/2 session without open streams may stay silent before it is closed; sessions with a Subscribe or long-poll open stay." },
  { name: "log-level", env: "LOG_LEVEL", kind: "choice", choices: ["fatal", "error", "warn", "info", "debug", "trace", "silent"], defaultText: "info", help: "Minimum level of the log lines written to stdout as JSON." },
];

export class UsageError extends Error {}

export type FlagValues = Map<string, string | number | boolean>;

function parseValue(flag: Flag, raw: string, source: string): string | number | boolean {
  switch (flag.kind) {
    case "integer": {
      const value = Number(raw);
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < (flag.min ?? 0) || value > (flag.max ?? Number.MAX_SAFE_INTEGER)) {
        throw new UsageError(
          `${source} is ${JSON.stringify(raw)}; expected a whole number from ${flag.min ?? 0} to ${flag.max ?? Number.MAX_SAFE_INTEGER}${flag.unit === undefined ? "" : ` (${flag.unit})`}`,
        );
      }
      return value;
    }
    case "boolean": {
      const lowered = raw.toLowerCase();
      if (["1", "true", "yes", "on"].includes(lowered)) return true;
      if (["0", "false", "no", "off", ""].includes(lowered)) return false;
      throw new UsageError(`${source} is ${JSON.stringify(raw)}; expected true or false (1 or 0)`);
    }
    case "choice":
      if (!(flag.choices ?? []).includes(raw)) {
        throw new UsageError(`${source} is ${JSON.stringify(raw)}; expected one of ${(flag.choices ?? []).join(", ")}`);
      }
      return raw;
    case "string":
      if (raw === "") throw new UsageError(`${source} is empty; expected a value or leave it unset`);
      return raw;
  }
}

/** Parses argv and the environment; throws UsageError naming the flag and the expected value. */
export function parseFlags(argv: string[], env: NodeJS.ProcessEnv): { values: FlagValues; help: boolean; version: boolean } {
  const byName = new Map(FLAGS.map((flag) => [flag.name, flag]));
  const values: FlagValues = new Map();
  for (const flag of FLAGS) {
    const raw = env[flag.env];
    if (raw !== undefined && raw !== "") values.set(flag.name, parseValue(flag, raw, `environment variable ${flag.env}`));
  }
  let help = false;
  let version = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? "";
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (arg === "--version") {
      version = true;
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const flag = match?.[1] === undefined ? undefined : byName.get(match[1]);
    if (match === null || flag === undefined) {
      throw new UsageError(`unknown argument ${JSON.stringify(arg)}; run chatwire-server --help for the flags`);
    }
    let raw = match[2];
    if (raw === undefined) {
      if (flag.kind === "boolean") {
        raw = "true";
      } else {
        raw = argv[++index];
        if (raw === undefined) throw new UsageError(`--${flag.name} needs a value`);
      }
    }
    values.set(flag.name, parseValue(flag, raw, `--${flag.name}`));
  }
  return { values, help, version };
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

export function helpText(): string {
  const lines = [
    "Usage: chatwire-server [flags]",
    "       chatwire-server migrate --database-url <url> [--database-schema <name>]",
    "",
    "Runs the chatwire reference server: Connect, gRPC and gRPC-Web over HTTP/1.1",
    "and cleartext HTTP/2 on one port, with an embedded SQLite database, or with",
    "PostgreSQL (--database-url) shared by several servers.",
    "",
    "migrate creates the PostgreSQL schema or brings it to this version, then exits.",
    "The server also does this when it starts, so the command is optional; several",
    "servers or migrate commands may run it at once.",
    "",
    "Flags (each can also be set by the environment variable shown; the flag wins):",
    "",
  ];
  for (const flag of FLAGS) {
    const value =
      flag.kind === "boolean"
        ? ""
        : flag.kind === "choice"
          ? ` ${(flag.choices ?? []).join("|")}`
          : ` ${flag.placeholder ?? (flag.kind === "integer" ? "<n>" : "<value>")}`;
    lines.push(`  --${flag.name}${value}   (env ${flag.env})`);
    lines.push(...wrap(flag.help, 74).map((line) => `      ${line}`));
    const facts = [
      flag.unit === undefined ? undefined : `unit: ${flag.unit}`,
      flag.defaultText === undefined ? "default: unset" : `default: ${flag.defaultText}`,
    ].filter((fact) => fact !== undefined);
    lines.push(`      ${facts.join("; ")}`);
  }
  lines.push(
    "  --help      Prints this text.",
    "  --version   Prints the server version.",
    "",
    "The server refuses to start without --jwt-secret or --jwks-file unless --dev is set.",
    "Endpoints besides the RPCs: GET /healthz (200, or 503 while shutting down), GET /metrics",
    "(Prometheus), GET /dev/token in development mode. SIGTERM or SIGINT shuts down gracefully.",
    "",
    "Exit codes: 0 after a clean shutdown or a completed migrate, 1 when the server or",
    "the migration fails, 2 for invalid flags.",
  );
  return lines.join("\n");
}
