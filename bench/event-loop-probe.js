/**
 * Preloaded into a bench worker (`node --require bench/event-loop-probe.js`): the worker's
 * event-loop delay, as perf_hooks measures it, written every second to PHASEFLOW_BENCH_PROBE_FILE
 * (JSON, milliseconds). A file `<that file>.reset` starts a fresh histogram (the probe removes it),
 * so a scenario measures only its own span. (Not a signal: the Temporal runtime shuts the worker
 * down on SIGUSR2.)
 */
'use strict';
const fs = require('node:fs');
const { monitorEventLoopDelay } = require('node:perf_hooks');

const { isMainThread } = require('node:worker_threads');

const file = process.env.PHASEFLOW_BENCH_PROBE_FILE;
// Worker threads (the SDK's workflow thread) inherit --require: only the main loop is measured.
if (file && isMainThread) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  const write = () => {
    if (fs.existsSync(`${file}.reset`)) {
      h.reset();
      fs.rmSync(`${file}.reset`, { force: true });
      return;
    }
    const stats = {
      at: Date.now(),
      samples: h.count,
      p50Ms: ms(h.percentile(50)),
      p99Ms: ms(h.percentile(99)),
      maxMs: ms(h.max),
      meanMs: ms(h.mean),
    };
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(stats));
    fs.renameSync(`${file}.tmp`, file);
  };
  setInterval(write, 1000).unref();
}
