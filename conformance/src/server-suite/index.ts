/**
 * The black-box server suite: cases that check a chatwire.v1 server over
 * the wire only, given its base URL and a way to get tokens.
 */
export { serverCases } from "./cases/index.js";
export { runServerSuite } from "./runner.js";
export {
  createTokenMinter,
  EXIT_CANNOT_MINT_EXPIRED,
  ExpiredTokensUnsupported,
  type CommandTokenSource,
  type SecretTokenSource,
  type TokenMinter,
  type TokenSource,
} from "./tokens.js";
export {
  CaseSkipped,
  WIRE_PROTOCOLS,
  type CaseContext,
  type ServerCase,
  type ServerSuiteOptions,
  type SuiteUser,
  type UserOptions,
} from "./types.js";
