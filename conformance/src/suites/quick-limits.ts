/**
 * chatwire-server flags that keep the server suite's limit and heartbeat
 * cases short when a run starts its own reference server. They set a 1 s
 * heartbeat, which leaves the heartbeat bound 500 ms of slack, 50 requests
 * per second, 50 members, pages of 200 and 5 streams per user.
 */
export const QUICK_SERVER_ARGS: readonly string[] = [
  ["--heartbeat-ms", "1000"],
  ["--rate-limit", "50"],
  ["--max-members", "50"],
  ["--max-page-size", "200"],
  ["--max-streams-per-user", "5"],
].flat();
