import { beforeAll, describe, expect, it } from "vitest";

import { escapeMarkdown, toMarkdown } from "../src/report/markdown.js";
import { toJUnitXml } from "../src/report/junit.js";
import { createProgressReporter } from "../src/report/progress.js";
import { formatResultTable } from "../src/report/table.js";
import type { CaseResult, SuiteRun } from "../src/report/types.js";
import { findAll, parseXml, type XmlElement } from "./support/xml.js";

/** Text with every character class the reporters must escape or replace. */
const HOSTILE = `a<b>&"c"'d' | *e* _f_ \`g\` [h](i) # ~j~ \\ \u0007bell \u001b[31mred\u001b[0m \uD800 ]]> ok`;

function result(overrides: Partial<CaseResult>): CaseResult {
  return {
    suite: "client",
    implementation: "node",
    id: "S1",
    title: "messages survive a kill",
    profile: "offline",
    guarantees: ["G1 durable local accept", "G2 exactly-once effect"],
    status: "pass",
    durationMs: 1234,
    ...overrides,
  };
}

const clientRun: SuiteRun = {
  suite: "client",
  claim: {
    name: "node",
    profiles: ["core", "offline"],
    gaps: [{ profile: "push", reason: "no <push> | wake-up handler" }],
  },
  results: [
    result({}),
    result({
      id: "S4",
      title: "a silent stream is noticed",
      profile: "core",
      guarantees: ["G6 real-time with fallback"],
      status: "fail",
      reason: HOSTILE,
      detail: `AssertionError: ${HOSTILE}\n    at run (s4.ts:1:1)`,
      durationMs: 20_000,
    }),
    result({ id: "S11", title: "push wakes the device", profile: "push", guarantees: [], status: "skip", reason: "no <push> | wake-up handler", durationMs: 0 }),
  ],
  startedAt: "2025-01-01T00:00:00.000Z",
  finishedAt: "2025-01-01T00:00:21.500Z",
};

const serverRun: SuiteRun = {
  suite: "server",
  claim: { name: "reference server", profiles: ["core"], gaps: [] },
  results: (["connect", "grpc", "grpc-web"] as const).map((protocol) =>
    result({
      suite: "server",
      implementation: "reference server",
      id: "server.send.replay",
      title: "a retry returns the stored message",
      profile: "core",
      guarantees: ["G2 exactly-once effect"],
      protocol,
      status: protocol === "grpc" ? "fail" : "pass",
      reason: protocol === "grpc" ? "replayed was false" : undefined,
      durationMs: 10,
    }),
  ),
  startedAt: "2025-01-01T00:01:00.000Z",
  finishedAt: "2025-01-01T00:01:01.000Z",
};

describe("JUnit XML", () => {
  const xml = toJUnitXml([clientRun, serverRun]);
  let root: XmlElement;
  beforeAll(() => {
    root = parseXml(xml);
  });

  it("is well-formed with a UTF-8 declaration", () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
    expect(root.name).toBe("testsuites");
  });

  it("counts cases at the root", () => {
    expect(root.attributes).toMatchObject({ tests: "6", failures: "2", skipped: "1", errors: "0", time: "22.500" });
  });

  it("has one testsuite per suite and implementation", () => {
    const suites = findAll(root, "testsuite");
    expect(suites.map((suite) => suite.attributes.name)).toEqual(["client: node", "server: reference server"]);
    expect(suites[0]!.attributes).toMatchObject({ tests: "3", failures: "1", skipped: "1", time: "21.500", timestamp: "2025-01-01T00:00:00.000Z" });
    expect(suites[1]!.attributes).toMatchObject({ tests: "3", failures: "1", skipped: "0" });
  });

  it("lists claimed profiles and gaps as properties", () => {
    const properties = findAll(findAll(root, "testsuite")[0]!, "property").map((property) => property.attributes);
    expect(properties).toEqual([
      { name: "profiles", value: "core,offline" },
      { name: "gap.push", value: "no <push> | wake-up handler" },
    ]);
  });

  it("has one testcase per case and protocol", () => {
    const cases = findAll(findAll(root, "testsuite")[1]!, "testcase");
    expect(cases.map((testcase) => testcase.attributes.name)).toEqual([
      "server.send.replay [connect] a retry returns the stored message",
      "server.send.replay [grpc] a retry returns the stored message",
      "server.send.replay [grpc-web] a retry returns the stored message",
    ]);
    expect(cases[0]!.attributes.classname).toBe("server.reference_server");
    expect(cases[0]!.attributes.time).toBe("0.010");
  });

  it("keeps a URL name to one classname segment", () => {
    const named = { ...serverRun, results: serverRun.results.map((r) => ({ ...r, implementation: "http://127.0.0.1:8080" })) };
    const testcase = findAll(parseXml(toJUnitXml([named])), "testcase")[0]!;
    expect(testcase.attributes.classname).toBe("server.http_127_0_0_1_8080");
  });

  it("escapes failure message and detail", () => {
    const failure = findAll(root, "failure")[0]!;
    const expected = HOSTILE.replace(/\u001b\[[0-9;]*m/g, "").replace(/[\u0007\uD800]/g, "\uFFFD");
    expect(failure.attributes.message).toBe(expected);
    expect(failure.text).toBe(`AssertionError: ${expected}\n    at run (s4.ts:1:1)`);
    expect(xml).not.toContain("]]>");
  });

  it("keeps line breaks in attributes", () => {
    const run: SuiteRun = { ...serverRun, results: [result({ status: "fail", reason: "line one\nline\ttwo\r" })] };
    const failure = findAll(parseXml(toJUnitXml([run])), "failure")[0]!;

    expect(failure.attributes.message).toBe("line one\nline\ttwo\r");
  });

  it("marks skipped cases with the reason", () => {
    const skipped = findAll(root, "skipped");
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.attributes.message).toBe("no <push> | wake-up handler");
  });

  it("renders an empty run list", () => {
    const empty = parseXml(toJUnitXml([]));
    expect(empty.attributes).toMatchObject({ tests: "0", failures: "0", skipped: "0" });
    expect(empty.children).toEqual([]);
  });
});

describe("Markdown summary", () => {
  const markdown = toMarkdown([clientRun, serverRun], { title: "Report", preamble: "Generated." });
  const lines = markdown.split("\n");

  it("starts with the title and preamble", () => {
    expect(lines.slice(0, 4)).toEqual(["# Report", "", "Generated.", ""]);
  });

  it("counts each run in the overview", () => {
    expect(lines).toContain("| client | node | core, offline | 1 | **1** | 1 |");
    expect(lines).toContain("| server | reference server | core | 2 | **1** | 0 |");
  });

  it("lists claimed profiles, counts and gaps", () => {
    expect(lines).toContain("Claimed profiles: core, offline.");
    expect(lines).toContain("Cases: 3 (1 passed, 1 failed, 1 skipped).");
    expect(lines).toContain("- push: no &lt;push&gt; \\| wake-up handler");
  });

  it("tags each case with its guarantees", () => {
    expect(lines).toContain("| S1 | messages survive a kill | offline | G1, G2 | pass |  |");
    expect(lines).toContain("| S11 | push wakes the device | push |  | skip | no &lt;push&gt; \\| wake-up handler |");
    expect(lines).toContain("| server.send.replay \\[grpc\\] | a retry returns the stored message | core | G2 | **FAIL** | replayed was false |");
  });

  it("keeps every table row at the header's column count", () => {
    const tableRows = lines.filter((line) => line.startsWith("| "));
    for (const line of tableRows) {
      const cells = line.replace(/\\\|/g, "").split("|").length - 2;
      expect(cells === 6, line).toBe(true);
    }
  });

  it("escapes a hostile failure reason", () => {
    const row = lines.find((line) => line.startsWith("| S4 "))!;
    expect(row).toContain("a&lt;b&gt;&amp;\"c\"'d' \\| \\*e\\* \\_f\\_ \\`g\\` \\[h\\](i) \\# \\~j\\~ \\\\");
    expect(row).not.toContain("\u001b");
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(6);
  });

  it("cuts long reasons to the limit", () => {
    const long = toMarkdown([{ ...serverRun, results: [result({ status: "fail", reason: "x".repeat(500) })] }], { maxReasonLength: 20 });
    expect(long).toContain(`| **FAIL** | ${"x".repeat(19)}… |`);
  });

  it("escapeMarkdown joins lines", () => {
    expect(escapeMarkdown("one\r\ntwo\nthree")).toBe("one two three");
  });
});

describe("result table", () => {
  const table = formatResultTable([clientRun, serverRun]);

  it("has a column per implementation and notes", () => {
    const lines = table.split("\n");
    expect(lines[0]).toMatch(/^case\s+node \(client\)\s+reference server \(server\)$/);
    expect(lines.find((line) => line.startsWith("S4 "))).toMatch(/FAIL \[1\]\s+-$/);
    expect(lines.find((line) => line.startsWith("S11 "))).toMatch(/skip \[2\]\s+-$/);
    expect(lines.find((line) => line.startsWith("server.send.replay [grpc] "))).toMatch(/-\s+FAIL \[3\]$/);
    expect(table).toContain("[2] node (client) S11: no <push> | wake-up handler");
    expect(table).toContain("[3] reference server (server) server.send.replay [grpc]: replayed was false");
    expect(table).toContain("node (client): 1 passed, 1 failed, 1 skipped");
    expect(table).toContain("reference server (server): 2 passed, 1 failed, 0 skipped");
  });

  it("keeps cases of one id apart by title", () => {
    const storageRun: SuiteRun = {
      ...clientRun,
      suite: "storage",
      results: [result({ suite: "storage", id: "outbox", title: "lists nothing" }), result({ suite: "storage", id: "outbox", title: "keeps order" })],
    };
    const lines = formatResultTable([storageRun]).split("\n");

    expect(lines.filter((line) => line.startsWith("outbox "))).toHaveLength(2);
  });
});

describe("progress reporter", () => {
  function capture(isTTY: boolean) {
    const chunks: string[] = [];
    const output = { isTTY, columns: 60, write: (text: string) => chunks.push(text) };
    return { chunks, output };
  }

  it("prints one line per case off a terminal", () => {
    const { chunks, output } = capture(false);
    const progress = createProgressReporter(output, "client node");
    progress.caseStarted("S1");
    progress.caseFinished(clientRun.results[0]!, 1, 3);
    progress.caseFinished(clientRun.results[1]!, 2, 3);
    progress.finish();

    expect(chunks[0]).toBe("[1/3] pass client node S1 messages survive a kill (1.2 s)\n");
    expect(chunks[1]).toMatch(/^\[2\/3\] FAIL client node S4 a silent stream is noticed \(20\.0 s\): a<b>/);
    expect(chunks).toHaveLength(2);
    expect(chunks.join("")).not.toContain("\r");
  });

  it("rewrites one line on a terminal", () => {
    const { chunks, output } = capture(true);
    const progress = createProgressReporter(output, "client node");
    progress.caseStarted("S1 messages survive a kill");
    progress.caseFinished(clientRun.results[0]!, 1, 3);
    progress.caseStarted("S4 a silent stream is noticed, with a title long enough to be cut");
    progress.caseFinished(clientRun.results[1]!, 2, 3);
    progress.finish();

    const text = chunks.join("");
    expect(chunks[0]).toBe("client node 0/? · 0 failures · S1 messages survive a kill");
    expect(text).toContain("\r\u001b[2Kclient node 1/3 · 0 failures · S4 a silent stream");
    expect(text).toContain("\nclient node 2/3 · 1 failure · after S4");
    expect(text).toMatch(/FAIL client node S4 a silent stream is noticed \(20\.0 s\): a<b>.*\n/);
    expect(text.endsWith("\r\u001b[2K")).toBe(true);
    const liveLines = text.split(/\r\u001b\[2K|\n/).filter((line) => line.startsWith("client node"));
    expect(liveLines.length).toBeGreaterThan(0);
    for (const line of liveLines) expect(line.length).toBeLessThanOrEqual(59);
  });
});
