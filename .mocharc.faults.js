// The fault suite (`npm run test:faults`): kills workers and restarts the Temporal server, so it
// has its own restartable server (tests/faults/global.ts) and runs apart from `npm test`.
// As in .mocharc.js, the glob applies only when no test file is named on the command line.
const args = process.argv.slice(2);
const named = args.some((a) => a === '--spec' || a.startsWith('--spec=') || (!a.startsWith('-') && /\.ts$/.test(a)));

module.exports = {
  require: ['tsx/cjs', 'tests/faults/global.ts'],
  extension: ['ts'],
  ...(named ? {} : { spec: ['tests/faults/**/*.fault.ts'] }),
  timeout: 600000,
  exit: true,
};
