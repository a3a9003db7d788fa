/** `chatwire-conformance server`: the black-box server suite against any chatwire.v1 server URL. */
import { parseArgs } from "node:util";

import { createProgressReporter } from "../report/progress.js";
import type { SuiteRun } from "../report/types.js";
import { runServerSuite, serverCases, WIRE_PROTOCOLS, type TokenSource } from "../server-suite/index.js";
import { PROFILES, type Claim, type Profile } from "../tags.js";
import { COMMON_OPTIONS, EXIT_PASSED, parseBaseUrl, parsePositiveInteger, parseCommandArgs, parseList, textFilter, UsageError } from "./args.js";
import { checkReportFiles, finishRuns, type CommandIo } from "./output.js";

export const SERVER_HELP = `Usage: chatwire-conformance server --url URL (--jwt-secret SECRET | --token-command CMD) [options]

Runs the black-box server suite against the chatwire.v1 server at URL, over
the wire only. Every user id the suite creates is unique to the run, so the
suite can run again and again against one long-lived server.

Tokens (exactly one):
  --jwt-secret SECRET    HS256 secret the server verifies tokens with; the suite signs
                         its own tokens. CHATWIRE_JWT_SECRET sets it without putting it
                         on the command line, where other users of the machine see it.
  --token-command CMD    shell command that prints a token for the user in
                         CHATWIRE_USER_ID, valid for CHATWIRE_TOKEN_TTL_SECONDS seconds
                         (negative: already expired; exit 3 if it cannot mint those)
  --jwt-issuer ISS       iss claim of tokens signed with --jwt-secret
  --jwt-audience AUD     aud claim of tokens signed with --jwt-secret

Options:
  --url URL              the server's base URL, such as http://127.0.0.1:8080 (required)
  --protocol LIST        wire protocols, comma-separated: connect, grpc, grpc-web (default: all)
  --profiles LIST        profiles the server claims, comma-separated: ${PROFILES.join(", ")}
                         (default: core); cases of the others are reported as skipped
  --name NAME            the implementation's name in reports (default: the URL)
  --case-timeout-ms N    time one case may take on one protocol, in ms, before the time
                         heartbeat and long-poll waits add (default: 30000)
  --short-retention-ms N for a server configured with a short retention: ms after which
                         it has certainly deleted an event (retention plus prune interval);
                         enables the retention case, which waits that long
  --filter TEXT          run only the cases whose id or title contains TEXT (any case)
  --junit FILE           write JUnit XML to FILE (folders are created)
  --markdown FILE        write a Markdown summary to FILE
  --verbose              print every case step
  -h, --help             show this help

Exit status: 0 when every case that ran passed, 1 when one failed or the
server could not be reached, 2 for an invalid command line.`;

const OPTIONS = {
  url: { type: "string" },
  "jwt-secret": { type: "string" },
  "token-command": { type: "string" },
  "jwt-issuer": { type: "string" },
  "jwt-audience": { type: "string" },
  protocol: { type: "string" },
  profiles: { type: "string" },
  name: { type: "string" },
  "case-timeout-ms": { type: "string" },
  "short-retention-ms": { type: "string" },
  ...COMMON_OPTIONS,
} as const;

/** Runs the command and returns its exit status; throws UsageError for command-line mistakes. */
export async function serverCommand(args: string[], io: CommandIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCommandArgs("server", () =>
    parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }),
  );
  if (values.help) {
    io.stdout.write(`${SERVER_HELP}\n`);
    return EXIT_PASSED;
  }
  if (values.url === undefined) throw new UsageError("missing --url; give the server's base URL, such as http://127.0.0.1:8080");
  const baseUrl = parseBaseUrl("url", values.url);
  const tokens = tokenSource(values, env);
  const protocols = values.protocol === undefined ? WIRE_PROTOCOLS : parseList("protocol", values.protocol, WIRE_PROTOCOLS);
  const profiles = values.profiles === undefined ? (["core"] as Profile[]) : parseList("profiles", values.profiles, PROFILES);
  const claim: Claim = {
    name: values.name ?? baseUrl,
    profiles,
    gaps: PROFILES.filter((profile) => !profiles.includes(profile)).map((profile) => ({
      profile,
      reason: `the ${profile} profile is not in --profiles`,
    })),
  };

  const caseTimeoutMs = parsePositiveInteger("case-timeout-ms", values["case-timeout-ms"]);
  const shortRetentionMs = parsePositiveInteger("short-retention-ms", values["short-retention-ms"]);
  const filter = textFilter(values.filter);
  if (filter && !serverCases.some(filter)) {
    throw new UsageError(`--filter ${JSON.stringify(values.filter)} matches no server case id or title`);
  }
  await checkReportFiles(values);

  const progress = createProgressReporter(io.stderr, `server ${claim.name}`);
  let run: SuiteRun;
  try {
    run = await runServerSuite(
      {
        baseUrl,
        tokens,
        protocols,
        claim,
        ...(filter ? { filter } : {}),
        ...(caseTimeoutMs === undefined ? {} : { caseTimeoutMs }),
        ...(shortRetentionMs === undefined ? {} : { shortRetentionMs }),
        onCaseStart: (serverCase, protocol) => progress.caseStarted(`${serverCase.id} [${protocol}] ${serverCase.title}`),
        ...(values.verbose ? { log: (line: string) => progress.print(line) } : {}),
      },
      (result, done, total) => progress.caseFinished(result, done, total),
    );
  } catch (error) {
    progress.finish();
    io.stderr.write(`chatwire-conformance server: the suite could not run against ${baseUrl}: ${(error as Error).message}\n`);
    return 1;
  }
  progress.finish();

  return finishRuns([run], values, {
    title: `chatwire conformance: server ${claim.name}`,
    preamble:
      `Server suite run against ${baseUrl} over ${protocols.join(", ")} by \`chatwire-conformance server\` ` +
      `on ${new Date().toISOString()}.`,
  }, io);
}

function tokenSource(
  values: { "jwt-secret"?: string; "token-command"?: string; "jwt-issuer"?: string; "jwt-audience"?: string },
  env: NodeJS.ProcessEnv,
): TokenSource {
  const secret = values["jwt-secret"] ?? (env.CHATWIRE_JWT_SECRET || undefined);
  const command = values["token-command"];
  if (secret !== undefined && command !== undefined) {
    throw new UsageError("both a JWT secret and --token-command are set; use one token source");
  }
  if (command !== undefined) {
    if (command.trim() === "") throw new UsageError("--token-command is empty; give a shell command that prints a token");
    if (values["jwt-issuer"] !== undefined || values["jwt-audience"] !== undefined) {
      throw new UsageError("--jwt-issuer and --jwt-audience apply to --jwt-secret only; the token command sets its own claims");
    }
    return { command };
  }
  if (secret === undefined || secret === "") {
    throw new UsageError("no token source; set --jwt-secret (or CHATWIRE_JWT_SECRET) or --token-command");
  }
  return {
    jwtSecret: secret,
    ...(values["jwt-issuer"] === undefined ? {} : { issuer: values["jwt-issuer"] }),
    ...(values["jwt-audience"] === undefined ? {} : { audience: values["jwt-audience"] }),
  };
}
