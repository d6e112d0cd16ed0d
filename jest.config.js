/** Tests run from TypeScript source through SWC; worker processes run from the build (npm test builds first). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  // As in tsconfig.json's paths: the packages resolve to their sources (the client is src/sdk).
  moduleNameMapper: {
    '^@chunkmill/client$': '<rootDir>/src/sdk/index.ts',
    '^chunkmill$': '<rootDir>/src/index.ts',
    '^chunkmill/tasks$': '<rootDir>/src/tasks.ts',
    '^chunkmill/(producer|worker|dashboard)$': '<rootDir>/src/$1/index.ts',
  },
  globalSetup: '<rootDir>/test/utils/global-setup.ts',
  globalTeardown: '<rootDir>/test/utils/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
  verbose: true,
  // Prints the fault suite's table (scenario, items accepted, lost, counted twice, stuck) after the run.
  reporters: ['default', '<rootDir>/test/utils/fault-summary-reporter.js', '<rootDir>/test/utils/closing-line-reporter.js'],
};
