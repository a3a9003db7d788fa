/** Tokens from a chatwire server in development mode (`--dev`), for the demo and the chat client. */

/** Returns a token source that calls the /dev/token endpoint of a server started with --dev. */
export function devTokenSource(baseUrl: string): (userId: string) => Promise<string> {
  return async (userId) => {
    const url = `${baseUrl}/dev/token?user=${encodeURIComponent(userId)}`;
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    } catch (error) {
      throw new Error(`GET ${url} failed (${error instanceof Error ? error.message : String(error)}); is the server running?`);
    }
    if (!response.ok) {
      throw new Error(`GET ${url} returned ${response.status}; start the server with --dev (npm start does)`);
    }
    const body = (await response.json()) as { token?: unknown };
    if (typeof body.token !== "string") throw new Error(`GET ${url} returned no "token" field`);
    return body.token;
  };
}
