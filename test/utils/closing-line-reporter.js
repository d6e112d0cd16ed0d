/**
 * Ends the run with one plain line, "N passed, N failed, N skipped", that CI systems and scripts can
 * read without knowing Jest's own summary format.
 */
class ClosingLineReporter {
  onRunComplete(_contexts, results) {
    process.stdout.write(`\n${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests} skipped\n`);
  }
}

module.exports = ClosingLineReporter;
