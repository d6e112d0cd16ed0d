/**
 * `node -r ./test/utils/swc-register.js file.ts`: runs TypeScript sources in a plain Node process (a
 * child of a test), compiled by SWC as Jest compiles them. For code that Jest's module runtime cannot
 * load (ES module dependencies loaded through dynamic import).
 */
const fs = require('node:fs');
const swc = require('@swc/core');

require.extensions['.ts'] = function compile(module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
