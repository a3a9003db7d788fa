/**
 * Bearer tokens: JWTs whose `sub` claim is the caller's user id.
 *
 * HS256 tokens are checked against a shared secret; asymmetric tokens (EdDSA,
 * ES256, RS256 and others) against a JSON Web Key Set. Both may be configured
 * at once: the token's `alg` header picks the key source.
 */
import { SignJWT, createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTHeaderParameters } from "jose";
import { tokenExpired, tokenInvalid } from "../rpc/errors.js";
import { checkUserId, isUserId, quote } from "../rpc/validate.js";

/** Shortest HS256 secret accepted: 32 bytes, the size of the HMAC-SHA-256 output (RFC 7518 section 3.2). */
export const MIN_SECRET_BYTES = 32;

export interface MintTokenOptions {
  /** HS256 secret, at least 32 bytes of UTF-8. */
  secret: string;
  /** The `sub` claim: 1 to 64 characters of [A-Za-z0-9_.@-]. */
  userId: string;
  /** Lifetime in seconds from now; the `exp` claim. */
  ttlSeconds: number;
  /** Optional `iss` claim. */
  issuer?: string;
  /** Optional `aud` claim. */
  audience?: string;
}

/** Signs an HS256 token for `userId` that the server accepts with the same secret. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  checkUserId("userId", options.userId);
  checkSecret("secret", options.secret);
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 1) {
    throw new RangeError(`ttlSeconds is ${options.ttlSeconds}; use a whole number of seconds from 1`);
  }
  const nowSeconds = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(options.userId)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + options.ttlSeconds);
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret));
}

export function checkSecret(name: string, secret: string): void {
  const bytes = Buffer.byteLength(secret, "utf8");
  if (bytes < MIN_SECRET_BYTES) {
    throw new RangeError(`${name} is ${bytes} bytes; use at least ${MIN_SECRET_BYTES} random bytes`);
  }
}

export interface Caller {
  userId: string;
  /** The token's `exp` in Unix milliseconds. */
  expiresAtMs: number;
}

export interface TokenVerifierOptions {
  secret?: string | undefined;
  jwks?: JSONWebKeySet | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
}

const ASYMMETRIC_ALGORITHMS = ["EdDSA", "Ed25519", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];

/**
 * Verified tokens kept to skip signature checks on repeated calls with the
 * same token. The key is the whole token, signature included, so a forged
 * token never matches; an entry is used only while its `exp` lies ahead.
 */
const CACHE_ENTRIES = 10_000;

export type TokenVerifier = (authorization: string | null) => Promise<Caller>;

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const secretKey = options.secret === undefined ? undefined : new TextEncoder().encode(options.secret);
  const jwks = options.jwks === undefined ? undefined : createLocalJWKSet(options.jwks);
  const algorithms = [
    ...(secretKey === undefined ? [] : ["HS256"]),
    ...(jwks === undefined ? [] : ASYMMETRIC_ALGORITHMS),
  ];
  const cache = new Map<string, Caller>();

  const getKey = async (header: JWTHeaderParameters, token: Parameters<NonNullable<typeof jwks>>[1]) => {
    if (header.alg === "HS256" && secretKey !== undefined) return secretKey;
    if (jwks !== undefined) return jwks(header, token);
    throw tokenInvalid(`algorithm ${quote(header.alg)} is not accepted by this server`);
  };

  return async (authorization) => {
    if (authorization === null || authorization === "") {
      throw tokenInvalid("the Authorization header is missing; send 'Authorization: Bearer <JWT>'");
    }
    const match = /^Bearer +([A-Za-z0-9_.-]+)$/i.exec(authorization);
    const token = match?.[1];
    if (token === undefined) throw tokenInvalid("the Authorization header is not 'Bearer <JWT>'");

    const cached = cache.get(token);
    if (cached !== undefined) {
      if (cached.expiresAtMs <= Date.now()) {
        cache.delete(token);
        throw tokenExpired();
      }
      return cached;
    }

    let payload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms,
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: ["sub", "exp"],
      }));
    } catch (error) {
      throw mapJoseError(error);
    }
    const userId: unknown = payload.sub;
    if (typeof userId !== "string") {
      // jose checks only that sub is present, so an array, number or object arrives here.
      throw tokenInvalid(`the sub claim is ${describeType(userId)}; it must be a user id string`);
    }
    if (!isUserId(userId)) {
      throw tokenInvalid(`the sub claim ${quote(userId)} is not a valid user id (1 to 64 characters of [A-Za-z0-9_.@-])`);
    }
    const caller: Caller = { userId, expiresAtMs: (payload.exp ?? 0) * 1000 };
    if (cache.size >= CACHE_ENTRIES) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(token, caller);
    return caller;
  };
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  return type === "object" || type === "undefined" ? `an ${type}` : `a ${type}`;
}

function mapJoseError(error: unknown): Error {
  if (error instanceof errors.JWTExpired) return tokenExpired();
  if (error instanceof errors.JWSSignatureVerificationFailed) return tokenInvalid("the signature does not verify");
  if (error instanceof errors.JWTClaimValidationFailed) return tokenInvalid(error.message);
  if (error instanceof errors.JOSEAlgNotAllowed) return tokenInvalid("the token's algorithm is not accepted");
  if (error instanceof errors.JWKSNoMatchingKey) return tokenInvalid("no key of the key set matches the token");
  if (error instanceof errors.JOSEError) return tokenInvalid("the token is malformed");
  if (error instanceof Error && error.name === "ConnectError") return error;
  return tokenInvalid("the token could not be verified");
}
