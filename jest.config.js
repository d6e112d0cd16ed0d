/** Tests run from TypeScript source through SWC; worker processes run from the build (npm test builds first). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  globalSetup: '<rootDir>/test/utils/global-setup.ts',
  globalTeardown: '<rootDir>/test/utils/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
  verbose: true,
  // Prints the fault suite's table (scenario, items accepted, lost, counted twice, stuck) after the run.
  reporters: ['default', '<rootDir>/test/utils/fault-summary-reporter.js', '<rootDir>/test/utils/closing-line-reporter.js'],
};
