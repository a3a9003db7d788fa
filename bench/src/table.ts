import type { ResultRow } from "./benches/types.js";

/** Renders result rows as a Markdown table: benchmark, figure, value, target, met. */
export function formatTable(rows: readonly ResultRow[]): string {
  const header = ["benchmark", "figure", "value", "target", "met"];
  const verdict = (met: boolean | undefined) => {
    if (met === undefined) return "";
    return met ? "yes" : "no";
  };
  const cells = rows.map((row) => [row.benchmark, row.figure, row.value, row.target ?? "", verdict(row.met)]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => (line[column] ?? "").length)),
  );
  const render = (line: readonly string[]) =>
    `| ${line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  const rule = `| ${widths.map((width) => "-".repeat(width)).join(" | ")} |`;
  return [render(header), rule, ...cells.map(render)].join("\n");
}
