/** Command-line parsing shared by the chatwire-conformance commands. */

/** A mistake in the command line; the CLI prints its message and exits with EXIT_USAGE. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Every case that ran passed (skipped cases allowed). */
export const EXIT_PASSED = 0;
/** At least one case failed, or the suite could not run to the end. */
export const EXIT_FAILED = 1;
/** The command line is invalid, names something unavailable, or selects no case. */
export const EXIT_USAGE = 2;

/** The parseArgs options every command takes: --filter, --junit, --markdown, --verbose and --help. */
export const COMMON_OPTIONS = {
  filter: { type: "string" },
  junit: { type: "string" },
  markdown: { type: "string" },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Runs `parse` (a strict node:util parseArgs call) and turns its errors for
 * an unknown option, a missing value or a stray argument into a UsageError
 * that names the option.
 */
export function parseCommandArgs<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      throw new UsageError(`${(error as Error).message}; see \`chatwire-conformance ${command} --help\``);
    }
    throw error;
  }
}

/**
 * Splits a comma-separated flag value and checks every item against
 * `allowed`. Throws a UsageError naming the first bad item and the choices.
 */
export function parseList<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  if (items.length === 0) throw new UsageError(`--${flag} is empty; use one or more of ${allowed.join(", ")}`);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      throw new UsageError(`--${flag} contains ${JSON.stringify(item)}; use one or more of ${allowed.join(", ")}, comma-separated`);
    }
  }
  return [...new Set(items as T[])];
}

/** Checks that `value` is an absolute http or https URL and returns it without a trailing slash. */
export function parseBaseUrl(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--${flag} ${JSON.stringify(value)} is not a URL; use one such as http://127.0.0.1:8080`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--${flag} ${JSON.stringify(value)} uses ${url.protocol}; use http: or https:`);
  }
  return value.replace(/\/+$/, "");
}

/** Parses a flag that takes a whole number above 0; undefined stays undefined. */
export function parsePositiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(number) || number <= 0) {
    throw new UsageError(`--${flag} is ${JSON.stringify(value)}; use a whole number above 0`);
  }
  return number;
}

/** Builds a case filter from --filter: a case matches when its id or title contains the text, ignoring case. */
export function textFilter(text: string | undefined): ((item: { id: string; title: string }) => boolean) | undefined {
  if (text === undefined) return undefined;
  const needle = text.toLowerCase();
  return (item) => item.id.toLowerCase().includes(needle) || item.title.toLowerCase().includes(needle);
}
