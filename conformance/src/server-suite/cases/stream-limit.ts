/**
 * ServerLimits.max_streams_per_user: a user's open Subscribe streams plus
 * waiting long-poll Syncs stop at the limit with resource_exhausted, other
 * users are not affected, and a closed stream frees its slot.
 */
import { Code, ConnectError } from "@connectrpc/connect";

import { expectRejected } from "../assertions.js";
import { recordStream, type RecordedStream } from "../streams.js";
import { WIRE_PROTOCOLS, type ServerCase, type SuiteUser } from "../types.js";
import { delay } from "./helpers.js";

/** Limits above this many streams are not opened; the case is skipped instead. */
const MAX_STREAMS_TESTED = 100;
const FIRST_FRAME_WAIT_MS = 5_000;
/** How long a closed stream may keep its slot, in ms. */
const SLOT_RELEASE_MS = 5_000;

async function openStream(user: SuiteUser): Promise<RecordedStream> {
  const stream = recordStream(user);
  try {
    await stream.waitFor("the first frame", (frames) => frames.length > 0, FIRST_FRAME_WAIT_MS);
  } catch (error) {
    stream.close();
    throw (await stream.ended) ?? error;
  }
  return stream;
}

/** Opens a stream, retrying while the server still counts a closed one, for up to SLOT_RELEASE_MS. */
async function openStreamOnceFree(user: SuiteUser): Promise<RecordedStream> {
  const deadline = performance.now() + SLOT_RELEASE_MS;
  for (;;) {
    try {
      return await openStream(user);
    } catch (error) {
      const exhausted = error instanceof ConnectError && error.code === Code.ResourceExhausted;
      if (!exhausted || performance.now() > deadline) throw error;
      await delay(100);
    }
  }
}

const streamsPerUser: ServerCase = {
  id: "server.limits.streams-per-user",
  title: "one Subscribe or waiting long-poll over max_streams_per_user is resource_exhausted until a stream closes",
  profile: "core",
  guarantees: ["G13 bad input is an error"],
  protocols: WIRE_PROTOCOLS,
  async run(context) {
    const maximum = context.limits.maxStreamsPerUser;
    if (maximum > MAX_STREAMS_TESTED) context.skip(`max_streams_per_user is ${maximum}; this case opens at most ${MAX_STREAMS_TESTED}`);
    const alice = context.user("alice");
    const bob = context.user("bob");
    await alice.createDirect(bob.userId);
    const head = await alice.syncAll();
    const streams: RecordedStream[] = [];
    try {
      for (let index = 0; index < maximum; index++) streams.push(await openStream(alice));
      context.step(`${maximum} streams open`);

      await expectRejected("one Subscribe over the limit", () => openStream(alice).then((stream) => stream.close()), {
        code: Code.ResourceExhausted,
      });
      if (context.limits.maxLongPollMs > 0) {
        const waitMs = Math.min(context.limits.maxLongPollMs, 2_000);
        await expectRejected(
          "a waiting long-poll Sync over the limit",
          alice.chat.sync({ cursor: head.cursor, deviceId: alice.deviceId, waitMs }),
          { code: Code.ResourceExhausted },
        );
      }
      streams.push(await openStream(bob));

      streams.shift()?.close();
      streams.push(await openStreamOnceFree(alice));
    } finally {
      for (const stream of streams) stream.close();
    }
  },
};

export const streamLimitCases: readonly ServerCase[] = [streamsPerUser];
