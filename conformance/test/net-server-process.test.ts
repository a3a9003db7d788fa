import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ConversationKind, ConversationService } from "@chatwire/gen";
import { afterEach, describe, expect, it } from "vitest";

import { startServerProcess, type ServerProcess } from "../src/server-process.js";

const started: ServerProcess[] = [];
afterEach(async () => {
  for (const server of started.splice(0)) await server.stop();
});

async function start(options: Parameters<typeof startServerProcess>[0] = {}): Promise<ServerProcess> {
  const server = await startServerProcess(options);
  started.push(server);
  return server;
}

/** A ConversationService client over its own HTTP/2 connection, closed by the returned close(). */
function conversationClient(server: ServerProcess, token: string) {
  const sessionManager = new Http2SessionManager(server.url);
  const authorize: Interceptor = (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  const transport = createConnectTransport({
    baseUrl: server.url,
    httpVersion: "2",
    sessionManager,
    interceptors: [authorize],
  });
  return { client: createClient(ConversationService, transport), close: () => sessionManager.abort() };
}

async function healthStatus(url: string): Promise<number> {
  try {
    const response = await fetch(`${url}/healthz`, { headers: { connection: "close" } });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("server process", () => {
  describe("startServerProcess", () => {
    it("returns once the server is healthy", async () => {
      const server = await start();

      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      expect(isAlive(server.pid)).toBe(true);
      expect(await healthStatus(server.url)).toBe(200);
    });

    it("writes the server's output to a log file", async () => {
      const server = await start();

      expect(server.logFile.startsWith(server.dataDir)).toBe(true);
      expect(existsSync(server.logFile)).toBe(true);
    });

    it("names the log lines when the server never gets healthy", async () => {
      // Blocks the server's start in a preloaded module that prints a marker.
      const hang = "data:text/javascript,console.log('marker-before-hang');setInterval(()=>{},1000);await new Promise(()=>{});";
      const attempt = startServerProcess({ nodeArgs: ["--import", hang], startTimeoutMs: 1_500 });

      await expect(attempt).rejects.toThrow(/did not return 200 for GET \/healthz within 1500 ms/);
      await expect(attempt).rejects.toThrow(/marker-before-hang/);
    });

    it("names the exit and log lines when the server exits at start", async () => {
      const attempt = startServerProcess({ args: ["--heartbeat-ms", "not-a-number"] });

      await expect(attempt).rejects.toThrow(/exited before it was healthy \(code [1-9]/);
      await expect(attempt).rejects.toThrow(/heartbeat/i);
    });

    it("removes its temporary folder when the start fails", async () => {
      // os.tmpdir() reads TMPDIR on every call, so the launcher's folder lands here.
      const parent = await mkdtemp(join(tmpdir(), "chatwire-failed-start-"));
      const savedTmpdir = process.env.TMPDIR;
      process.env.TMPDIR = parent;
      try {
        await expect(startServerProcess({ args: ["--heartbeat-ms", "not-a-number"] })).rejects.toThrow(/exited/);
      } finally {
        if (savedTmpdir === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = savedTmpdir;
      }

      expect(readdirSync(parent)).toEqual([]);
      await rm(parent, { recursive: true, force: true });
    });

    it("keeps a given folder and names its log when the start fails", async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "chatwire-given-failed-"));
      try {
        const attempt = startServerProcess({ dataDir, args: ["--heartbeat-ms", "not-a-number"] });

        await expect(attempt).rejects.toThrow(`(full log: ${join(dataDir, "server.log")})`);
        expect(existsSync(join(dataDir, "server.log"))).toBe(true);
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  });

  describe("token", () => {
    it("mints tokens the server accepts", async () => {
      const server = await start();
      const { client, close } = conversationClient(server, await server.token("alice"));

      try {
        const response = await client.listConversations({});
        expect(response.conversations).toEqual([]);
      } finally {
        close();
      }
    });

    it("mints expired tokens for a negative lifetime", async () => {
      const server = await start();
      const { client, close } = conversationClient(server, await server.token("alice", -60));

      try {
        const failure = await client.listConversations({}).then(
          () => undefined,
          (error: unknown) => ConnectError.from(error),
        );
        expect(failure?.code).toBe(Code.Unauthenticated);
      } finally {
        close();
      }
    });
  });

  describe("kill and restart", () => {
    it("restarts on the same port and data after SIGKILL", async () => {
      const server = await start();
      const token = await server.token("alice");
      const before = conversationClient(server, token);
      try {
        await before.client.createConversation({ kind: ConversationKind.DIRECT, memberIds: ["bob"] });
      } finally {
        before.close();
      }
      const firstPid = server.pid;

      const exit = await server.kill("SIGKILL");
      expect(exit.signal).toBe("SIGKILL");
      expect(isAlive(firstPid)).toBe(false);

      await server.restart();
      expect(server.pid).not.toBe(firstPid);
      expect(await healthStatus(server.url)).toBe(200);
      const after = conversationClient(server, token);
      try {
        const listed = await after.client.listConversations({});
        expect(listed.conversations.length).toBe(1);
      } finally {
        after.close();
      }
    });

    it("restarts a running server", async () => {
      const server = await start();
      const firstPid = server.pid;

      await server.restart();

      expect(isAlive(firstPid)).toBe(false);
      expect(isAlive(server.pid)).toBe(true);
      expect(await healthStatus(server.url)).toBe(200);
      expect(readFileSync(server.logFile, "utf8").length).toBeGreaterThan(0);
    });
  });

  describe("stop", () => {
    it("ends the process, frees the port and removes its own data folder", async () => {
      const server = await startServerProcess();
      const pid = server.pid;

      const exit = await server.stop();

      expect(exit.code === 0 || exit.signal === "SIGTERM").toBe(true);
      expect(isAlive(pid)).toBe(false);
      expect(await portAcceptsConnections(server.port)).toBe(false);
      expect(existsSync(server.dataDir)).toBe(false);
    });

    it("keeps a data folder the caller gave", async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "chatwire-given-"));
      try {
        const server = await startServerProcess({ dataDir });

        await server.stop();

        expect(existsSync(dataDir)).toBe(true);
        expect(existsSync(server.logFile)).toBe(true);
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  });
});
