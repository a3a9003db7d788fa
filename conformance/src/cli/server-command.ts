/** `chatwire-conformance server`: the black-box server suite against any chatwire.v1 server URL. */
import { parseArgs } from "node:util";

import { createProgressReporter } from "../report/progress.js";
import type { ResultListener, SuiteRun, WireProtocol } from "../report/types.js";
import { PROFILES, type Claim, type Profile } from "../tags.js";
import { COMMON_OPTIONS, EXIT_PASSED, parseBaseUrl, parseCommandArgs, parseList, textFilter, UsageError } from "./args.js";
import { finishRuns, type CommandIo } from "./output.js";

const PROTOCOLS: readonly WireProtocol[] = ["connect", "grpc", "grpc-web"];

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
  ...COMMON_OPTIONS,
} as const;

/** A way to get tokens, as the server suite takes it. */
type TokenSource =
  | { jwtSecret: string; issuer?: string; audience?: string }
  | { command: string };

/** The part of the server suite's module this command uses. */
interface ServerSuiteModule {
  serverCases: ReadonlyArray<{ id: string; title: string }>;
  runServerSuite(
    options: {
      baseUrl: string;
      tokens: TokenSource;
      protocols?: readonly WireProtocol[];
      claim?: Claim;
      filter?: (serverCase: { id: string; title: string }) => boolean;
      log?: (line: string) => void;
    },
    onResult?: ResultListener,
  ): Promise<SuiteRun>;
}

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
  const protocols = values.protocol === undefined ? PROTOCOLS : parseList("protocol", values.protocol, PROTOCOLS);
  const profiles = values.profiles === undefined ? (["core"] as Profile[]) : parseList("profiles", values.profiles, PROFILES);
  const claim: Claim = {
    name: values.name ?? baseUrl,
    profiles,
    gaps: PROFILES.filter((profile) => !profiles.includes(profile)).map((profile) => ({
      profile,
      reason: "not listed in --profiles",
    })),
  };

  const suite = await loadServerSuite();
  const filter = textFilter(values.filter);
  if (filter && !suite.serverCases.some(filter)) {
    throw new UsageError(`--filter ${JSON.stringify(values.filter)} matches no server case id or title`);
  }

  const progress = createProgressReporter(io.stderr, `server ${claim.name}`);
  let run: SuiteRun;
  try {
    run = await suite.runServerSuite(
      {
        baseUrl,
        tokens,
        protocols,
        claim,
        ...(filter ? { filter } : {}),
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

// TODO: import the server suite statically once src/server-suite is part of this package.
const SERVER_SUITE_MODULE = "../server-suite/index.js";

async function loadServerSuite(): Promise<ServerSuiteModule> {
  try {
    return (await import(SERVER_SUITE_MODULE)) as ServerSuiteModule;
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new UsageError("the server suite is not part of this build of @chatwire/conformance yet");
  }
}
