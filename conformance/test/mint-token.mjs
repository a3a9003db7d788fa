#!/usr/bin/env node
// A token command for the server suite's tests. It prints an HS256 token
// for CHATWIRE_USER_ID that lives CHATWIRE_TOKEN_TTL_SECONDS (negative:
// expired that long ago), signed with MINT_TOKEN_SECRET. With --no-expired it
// exits 3 for a negative TTL, as a command that cannot mint expired tokens does.
import { SignJWT } from "jose";

const userId = process.env.CHATWIRE_USER_ID ?? "";
const ttlSeconds = Number(process.env.CHATWIRE_TOKEN_TTL_SECONDS);
const secret = process.env.MINT_TOKEN_SECRET ?? "";
if (userId === "" || !Number.isInteger(ttlSeconds) || secret === "") {
  process.stderr.write("mint-token: set CHATWIRE_USER_ID, CHATWIRE_TOKEN_TTL_SECONDS (whole seconds) and MINT_TOKEN_SECRET\n");
  process.exit(2);
}
if (ttlSeconds < 0 && process.argv.includes("--no-expired")) process.exit(3);

const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({})
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(userId)
  .setIssuedAt(Math.min(now, now + ttlSeconds - 60))
  .setExpirationTime(now + ttlSeconds)
  .sign(new TextEncoder().encode(secret));
process.stdout.write(`${token}\n`);
