// The stack suite (`npm run test:stack`): the production-shaped stack (`phaseflow stack up`:
// PostgreSQL, Temporal server, Web UI) started once for the run by tests/stack/global.ts, then
// the demo, the fault run and worker hosts on it. Apart from `npm test`; CI runs it after the
// fault suite. Built on .mocharc.js, which leaves `spec` out when test files are named.
const { spec, ...base } = require('./.mocharc.js');

module.exports = {
  ...base,
  require: ['tsx/cjs', 'tests/stack/global.ts'],
  ...(spec ? { spec: ['tests/stack/**/*.stack.ts'] } : {}),
  timeout: 600000,
};
