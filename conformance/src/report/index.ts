/** Reporters for conformance runs: live progress, a final table, JUnit XML and Markdown. */
export type * from "./types.js";
export { createProgressReporter, describeResult, type ProgressOutput, type ProgressReporter } from "./progress.js";
export { formatResultTable } from "./table.js";
export { toJUnitXml, type JUnitOptions } from "./junit.js";
export { toMarkdown, type MarkdownOptions } from "./markdown.js";
export { caseLabel, countResults, describeCounts, type StatusCounts } from "./summary.js";
