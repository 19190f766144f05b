#!/usr/bin/env node
// Bundles the compiled workflows once at build time (lib/workflow-bundle.js), so a worker does
// not run webpack at start-up: it starts faster and stays ~130 MB smaller (npm run bench).
const fs = require('node:fs');
const path = require('node:path');
const { bundleWorkflowCode } = require('@temporalio/worker');

const lib = path.join(__dirname, '..', 'lib');
bundleWorkflowCode({
  workflowsPath: path.join(lib, 'workflows'),
  logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
})
  .then(({ code }) => {
    fs.writeFileSync(path.join(lib, 'workflow-bundle.js'), code);
    console.log(`workflow bundle: lib/workflow-bundle.js (${(code.length / 1e6).toFixed(1)} MB)`);
  })
  .catch((err) => {
    console.error(`bundling the workflows failed: ${err.stack ?? err}`);
    process.exit(1);
  });
