// The fault suite (`npm run test:faults`): kills workers and restarts the Temporal server, so it
// has its own restartable server (tests/faults/global.ts) and runs apart from `npm test`.
// Built on .mocharc.js, which leaves `spec` out when test files are named on the command line.
const { spec, ...base } = require('./.mocharc.js');

module.exports = {
  ...base,
  require: ['tsx/cjs', 'tests/faults/global.ts'],
  ...(spec ? { spec: ['tests/faults/**/*.fault.ts'] } : {}),
  timeout: 600000,
};
