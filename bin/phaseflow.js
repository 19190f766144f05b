#!/usr/bin/env node
// The compiled CLI (npm run build); `npm run phaseflow -- <command>` builds nothing, run build first.
require('../lib/cli/main.js')
  .main()
  .then(() => process.exit(process.exitCode ?? 0));
