// Mocha settings. Mocha appends files named on the command line to the configured `spec`, so the
// whole-suite glob applies only when no test file is named: `npx mocha tests/x.test.ts` runs x.
const args = process.argv.slice(2);
const named = args.some((a) => a === '--spec' || a.startsWith('--spec=') || (!a.startsWith('-') && /\.ts$/.test(a)));

module.exports = {
  // tsx/cjs runs the TypeScript tests; global.ts starts one Temporal dev server for the run.
  require: ['tsx/cjs', 'tests/support/global.ts'],
  extension: ['ts'],
  ...(named ? {} : { spec: ['tests/**/*.test.ts'] }),
  timeout: 120000,
  exit: true,
};
