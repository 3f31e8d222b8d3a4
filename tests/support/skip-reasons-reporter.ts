import type { Reporter, TestCase } from "vitest/node";

/**
 * Prints every skipped test with the reason it gave (`ctx.skip(condition, reason)`), and flags a
 * skip that gave none: a skipped test must say why, or it hides a gap.
 */
export default class SkipReasonsReporter implements Reporter {
  private readonly skipped: string[] = [];

  onTestCaseResult(testCase: TestCase) {
    const result = testCase.result();
    if (result.state !== "skipped") return;
    const where = `[${testCase.project.name}] ${testCase.module.moduleId.replace(`${process.cwd()}/`, "")} > ${testCase.fullName}`;
    this.skipped.push(`  ${where}: ${result.note ?? "NO REASON GIVEN (filtered out by -t, or a skip without a reason)"}`);
  }

  onTestRunEnd() {
    if (this.skipped.length === 0) return;
    process.stdout.write(`\nSkipped tests and why (${this.skipped.length}):\n${this.skipped.join("\n")}\n`);
  }
}
