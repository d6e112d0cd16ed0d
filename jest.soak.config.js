/**
 * `npm run soak`: the long run in test/soak (see its header), not part of `npm test`, whose config
 * matches *.test.ts only. No global setup: the soak starts its own redis-server and never looks for
 * the shared one on 6379.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['**/test/soak/**/*.soak.ts'],
  globalSetup: undefined,
  globalTeardown: undefined,
  maxWorkers: 1,
  // The soak sets its own timeout from SOAK_MINUTES.
  testTimeout: 60 * 60_000,
};
