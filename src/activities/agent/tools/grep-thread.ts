/**
 * Grep's matching runs in a worker thread with a time limit. The pattern comes from the model,
 * and a JavaScript regex can backtrack for minutes (`(a+)+$` on a line of 30 a's takes about
 * 90 s); in the worker's main thread that would freeze every activity on the worker, heartbeats
 * included. A thread that runs out of time is terminated and the model is told why.
 */
import { Worker } from 'node:worker_threads';
import { ToolError } from './tool-error';

export interface GrepJob {
  pattern: string;
  flags: string;
  /** Files already confined to the workspace: absolute path and the name shown for it. */
  files: { abs: string; rel: string }[];
  mode: 'content' | 'files_with_matches' | 'count';
  maxFileBytes: number;
  maxOutputLines: number;
  maxLineChars: number;
}

export interface GrepOutcome {
  lines: string[];
  truncated: boolean;
}

/**
 * The matcher itself. It is shipped to the thread as source text (so the thread needs no module
 * loader, under tsx or compiled alike): self-contained, no imports, no helpers.
 */
function grepFiles(job: GrepJob, fs: typeof import('node:fs')): GrepOutcome {
  const re = new RegExp(job.pattern, job.flags);
  const lines: string[] = [];
  for (const f of job.files) {
    let buf: Buffer;
    try {
      const st = fs.statSync(f.abs);
      if (!st.isFile() || st.size > job.maxFileBytes) continue;
      buf = fs.readFileSync(f.abs);
    } catch {
      continue;
    }
    if (buf.subarray(0, 8192).includes(0)) continue;
    const text = buf.toString('utf8').split('\n');
    let count = 0;
    for (let i = 0; i < text.length; i++) {
      if (!re.test(text[i])) continue;
      count++;
      if (job.mode === 'content') {
        const line = text[i].length > job.maxLineChars ? text[i].slice(0, job.maxLineChars) + '…' : text[i];
        lines.push(f.rel + ':' + (i + 1) + ':' + line);
        if (lines.length >= job.maxOutputLines) return { lines, truncated: true };
      } else if (job.mode === 'files_with_matches') break;
    }
    if (count && job.mode === 'files_with_matches') lines.push(f.rel);
    if (count && job.mode === 'count') lines.push(f.rel + ':' + count);
    if (lines.length >= job.maxOutputLines) return { lines, truncated: true };
  }
  return { lines, truncated: false };
}

// esbuild (tsx) may wrap named functions in __name(); give the thread a no-op one.
const THREAD_SOURCE = `
const __name = (f) => f;
const { parentPort, workerData } = require('node:worker_threads');
parentPort.postMessage((${grepFiles.toString()})(workerData, require('node:fs')));
`;

/** Runs the job in a thread; refuses with a ToolError past `limitMs` or on abort. */
export function grepInThread(job: GrepJob, limitMs: number, signal: AbortSignal): Promise<GrepOutcome> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new ToolError(
              `Grep stopped after ${Math.round(limitMs / 1000)} s: the pattern is too slow (nested quantifiers such as (a+)+ backtrack without end); simplify it or narrow path/glob`,
            ),
          ),
        ),
      limitMs,
    );
    const onAbort = () =>
      finish(() => reject(new ToolError('Grep aborted: the task was cancelled or ran out of time')));
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    worker.once('message', (out: GrepOutcome) => finish(() => resolve(out)));
    worker.once('error', (err) => finish(() => reject(new ToolError(`Grep failed: ${err.message}`))));
    worker.once('exit', (code) =>
      finish(() => reject(new ToolError(`Grep's search thread ended unexpectedly (exit ${code})`))),
    );
  });
}
