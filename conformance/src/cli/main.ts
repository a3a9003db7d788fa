/** The chatwire-conformance command line: picks the command and turns usage errors into exit status 2. */
import { EXIT_PASSED, EXIT_USAGE, UsageError } from "./args.js";
import { CLIENT_HELP, clientCommand } from "./client-command.js";
import type { CommandIo } from "./output.js";
import { SERVER_HELP, serverCommand } from "./server-command.js";

export const MAIN_HELP = `Usage: chatwire-conformance <command> [options]

Checks a chatwire implementation against the chatwire.v1 contract.

Commands:
  server    run the black-box server suite against a server URL
  client    run the end-to-end scenarios on a client runtime

Run \`chatwire-conformance <command> --help\` for a command's options.

Exit status: 0 when every case that ran passed, 1 when one failed,
2 for an invalid command line.`;

/** Runs the command line `args` (without the node and script paths) and returns the exit status. */
export async function main(args: string[], io: CommandIo, env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "server":
        return await serverCommand(rest, io, env);
      case "client":
        return await clientCommand(rest, io);
      case "help":
      case "--help":
      case "-h":
        io.stdout.write(`${helpFor(rest[0])}\n`);
        return EXIT_PASSED;
      case undefined:
        throw new UsageError("missing command; use `server` or `client`");
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}; use \`server\` or \`client\``);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const hint = error.message.includes("--help") ? "" : "\nRun `chatwire-conformance --help` for usage.";
    io.stderr.write(`chatwire-conformance: ${error.message}${hint}\n`);
    return EXIT_USAGE;
  }
}

function helpFor(command: string | undefined): string {
  if (command === "server") return SERVER_HELP;
  if (command === "client") return CLIENT_HELP;
  return MAIN_HELP;
}
