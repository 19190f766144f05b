#!/usr/bin/env node
/**
 * What `npm test` needs beyond `npm install`, in one list, and the step that obtains it: npm runs
 * this as `pretest`, so the README's `npm install && npm test` passes on a fresh machine.
 * tests/setup/prereqs.test.ts fails when the tests or src run a program that is not listed here.
 * (`npm run test:faults` has no such step: CI runs it after `npm test`, which installed everything.)
 *
 *   node scripts/test-prereqs.js           install or build what is missing
 *   node scripts/test-prereqs.js --check   only say what is missing (exit 1 if anything is)
 *   node scripts/test-prereqs.js --stack   also what `npm run test:stack` needs (STACK_PACKAGES, and
 *                                          the Go builds of src/stack/go-build.ts)
 *
 * PHASEFLOW_SKIP_BROWSER=1 leaves chromium out (tests/webui then skips, loudly).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** Programs from the OS package manager (Debian/Ubuntu package -> the programs the tests use). */
const APT_PACKAGES = {
  chromium: ['chromium'], // tests/webui drives it with playwright-core
  'util-linux': ['setpriv', 'unshare', 'setsid'], // parent-death signals and the sandbox; setsid in hostile-tools
  procps: ['pgrep'], // not in slim images; tests/security/hostile-tools looks for leftover processes
  git: ['git'], // spec `git`: src/activities/git commits phases; tests/git and tests/github use real repositories
};

/**
 * The production-shaped stack (`phaseflow stack`, `npm run test:stack` only): PostgreSQL's
 * programs, which Debian keeps in /usr/lib/postgresql/<major>/bin (src/stack/postgres.ts finds
 * them there; psql is also on PATH).
 */
const STACK_PACKAGES = {
  postgresql: ['initdb', 'pg_ctl', 'postgres', 'psql', 'pg_isready'],
};

/** Programs obtained another way, or optional. */
const OTHER_PROGRAMS = {
  temporal: 'found or built by src/temporal/binary.ts (PATH, PHASEFLOW_TEMPORAL_BIN, the cache, or `go install`)',
  go: 'only to build temporal when none is found; not installed here (the README says what to do without it)',
  'chromium-browser': "Ubuntu's name for chromium, accepted instead",
  'apt-get': 'used here to install APT_PACKAGES; without it this script says what to install',
  sudo: 'used here when not root, if it needs no password; else this script prints the command',
  'temporal-server': 'the stack: built by src/stack/go-build.ts (go install go.temporal.io/server/cmd/server)',
  'temporal-sql-tool': 'the stack: built by src/stack/go-build.ts (go install go.temporal.io/server/cmd/tools/sql)',
  'temporal-ui-server':
    'the stack: built by src/stack/go-build.ts (go install github.com/temporalio/ui-server/v2/cmd/server)',
  runuser: 'the stack, as root: runs PostgreSQL as the postgres user (util-linux, in every Debian base system)',
  npm: 'installs Claude Code for the claude-code runtime (src/activities/agent/claude-code/install.ts)',
};

/**
 * Never checked: shell builtins and keywords, the shells, node itself, and programs of Debian's
 * Essential packages (coreutils, grep, libc-bin), which every Debian/Ubuntu system has.
 */
const BASE_SYSTEM = [
  // builtins (sh and bash; the scan skips keywords such as if/while/do)
  'cd',
  'command',
  'echo',
  'exec',
  'exit',
  'export',
  'false',
  'kill',
  'printf',
  'pwd',
  'read',
  'set',
  'shift',
  'test',
  'trap',
  'true',
  'ulimit',
  'umask',
  'wait',
  // shells and node
  'sh',
  'bash',
  'node',
  // coreutils, grep, libc-bin
  'cat',
  'chown',
  'env',
  'getconf',
  'grep',
  'head',
  'ln',
  'ls',
  'mkdir',
  'mkfifo',
  'sleep',
  'touch',
  'tr',
  'wc',
];

const SKIP_BROWSER = process.env.PHASEFLOW_SKIP_BROWSER === '1';

function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return path.join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** chromium the way tests/webui finds it. */
function hasPostgres() {
  const lib = '/usr/lib/postgresql';
  return (
    (fs.existsSync(lib) && fs.readdirSync(lib).some((v) => fs.existsSync(path.join(lib, v, 'bin', 'initdb')))) ||
    Boolean(onPath('initdb'))
  );
}

function hasChromium() {
  const env = process.env.PHASEFLOW_CHROMIUM;
  return Boolean(
    (env && fs.existsSync(env)) ||
    fs.existsSync('/usr/bin/chromium') ||
    onPath('chromium') ||
    onPath('chromium-browser'),
  );
}

/** Debian packages with a program the tests use missing. */
function missingPackages(stack) {
  const missing = [];
  if (stack && !hasPostgres()) missing.push('postgresql');
  for (const [pkg, programs] of Object.entries(APT_PACKAGES)) {
    if (pkg === 'chromium') {
      if (SKIP_BROWSER) continue;
      if (!hasChromium()) missing.push(pkg);
    } else if (programs.some((p) => !onPath(p))) missing.push(pkg);
  }
  return missing;
}

/** How to run apt-get here: '' (root), 'sudo ' (passwordless sudo), or undefined (neither). */
function aptPrefix() {
  if (process.getuid && process.getuid() === 0) return '';
  if (onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return 'sudo ';
  return undefined;
}

function say(msg) {
  process.stderr.write(`test-prereqs: ${msg}\n`);
}

function seconds(started) {
  return `${Math.round((Date.now() - started) / 1000)} s`;
}

function aptGet(prefix, args) {
  const argv = [...(prefix ? ['sudo'] : []), 'apt-get', ...args];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  return spawnSync(argv[0], argv.slice(1), { stdio: 'inherit', env }).status === 0;
}

/** Installs packages with apt-get (update first only if the install fails, as the lists may be stale). */
function installPackages(packages) {
  const prefix = aptPrefix();
  const install = `${prefix ?? 'sudo '}apt-get update && ${prefix ?? 'sudo '}apt-get install -y ${packages.join(' ')}`;
  const skipHint = packages.includes('chromium')
    ? ' (or set PHASEFLOW_SKIP_BROWSER=1 to skip the browser test instead of installing chromium)'
    : '';
  if (!onPath('apt-get')) {
    say(
      `the tests need the packages ${packages.join(', ')} and there is no apt-get here; install them with your package manager${skipHint}`,
    );
    return false;
  }
  if (prefix === undefined) {
    say(
      `the tests need ${packages.join(', ')} from apt, and installing needs root (or sudo without a password); run:\n\n    ${install}\n\nthen \`npm test\` again${skipHint}`,
    );
    return false;
  }
  const started = Date.now();
  say(`installing ${packages.join(', ')} with apt-get (chromium took 40 s on a 2-core machine)`);
  const args = ['-q', 'install', '-y', ...packages];
  const ok = aptGet(prefix, args) || (aptGet(prefix, ['-q', 'update']) && aptGet(prefix, args));
  if (!ok) {
    say(`apt-get could not install ${packages.join(', ')}; try by hand: ${install}${skipHint}`);
    return false;
  }
  say(`installed ${packages.join(', ')} in ${seconds(started)}`);
  return true;
}

/** The temporal CLI: found, or built once with Go into the cache (a few minutes, shown by binary.ts). */
async function ensureTemporal(checkOnly) {
  require('tsx/cjs'); // binary.ts is TypeScript, and this runs before the build
  // Go's official tarball installs here, often left off PATH: good enough to build with.
  if (!onPath('go') && fs.existsSync('/usr/local/go/bin/go')) process.env.PATH += `${path.delimiter}/usr/local/go/bin`;
  const { findTemporalBinary, temporalCacheDir } = require('../src/temporal/binary');
  const found = await findTemporalBinary({ build: false }).catch(() => undefined);
  if (found) return true;
  if (checkOnly) {
    say('missing: the temporal CLI (npm test builds it with Go)');
    return false;
  }
  const started = Date.now();
  if (onPath('go') && !process.env.PHASEFLOW_TEMPORAL_BIN) {
    say(
      `no temporal CLI found: building it with Go into ${temporalCacheDir()}, once (4 to 5 minutes on a 2-core machine)`,
    );
  }
  try {
    const built = await findTemporalBinary();
    say(`temporal CLI ready at ${built} after ${seconds(started)}`);
    return true;
  } catch (err) {
    say(err.message);
    return false;
  }
}

/** The stack's Go programs: built once into the cache (src/stack/go-build.ts; a minute or five each). */
async function ensureStackBuilds(checkOnly) {
  const { cachedPath, ensureGoProgram } = require('../src/stack/go-build');
  const { GO_BUILDS } = require('../src/stack/config');
  let ok = true;
  for (const program of Object.keys(GO_BUILDS)) {
    if (fs.existsSync(cachedPath(program))) continue;
    if (checkOnly) {
      say(`missing: ${cachedPath(program)} (npm run test:stack builds it with Go)`);
      ok = false;
      continue;
    }
    const started = Date.now();
    try {
      await ensureGoProgram(program, say);
      say(`${program} ready after ${seconds(started)}`);
    } catch (err) {
      say(err.message);
      ok = false;
    }
  }
  return ok;
}

/**
 * Claude Code for the claude-code runtime's tests (tests/claude-code): the pinned Agent SDK and its
 * native binary, installed once into the cache with npm (about 200 MB to download).
 */
async function ensureClaudeCode(checkOnly) {
  require('tsx/cjs');
  const {
    claudeCodeInstalled,
    installClaudeCode,
    claudeCodeDir,
  } = require('../src/activities/agent/claude-code/install');
  if (claudeCodeInstalled()) return true;
  if (checkOnly) {
    say(`missing: Claude Code for the claude-code runtime (npm test installs it into ${claudeCodeDir()})`);
    return false;
  }
  const started = Date.now();
  say(`Claude Code missing: installing it into ${claudeCodeDir()}, once (about 200 MB)`);
  try {
    await installClaudeCode({ log: say });
    say(`Claude Code ready after ${seconds(started)}`);
    return true;
  } catch (err) {
    say(err.message);
    return false;
  }
}

async function main() {
  const checkOnly = process.argv.includes('--check');
  const stack = process.argv.includes('--stack');
  if (SKIP_BROWSER)
    say('!!! PHASEFLOW_SKIP_BROWSER=1: not checking for chromium; the Web UI browser test will be SKIPPED');
  const missing = missingPackages(stack);
  let ok = true;
  if (missing.length && checkOnly) {
    say(`missing packages: ${missing.join(', ')}`);
    ok = false;
  } else if (missing.length) {
    ok = installPackages(missing);
    const still = ok ? missingPackages(stack) : [];
    if (still.length) {
      say(`still missing after the install: ${still.join(', ')}`);
      ok = false;
    }
  }
  // Without the packages the run would fail anyway: stop before a long temporal build.
  if (ok) ok = await ensureTemporal(checkOnly);
  if (ok && stack) ok = await ensureStackBuilds(checkOnly);
  // The stack's tests run no Claude Code task.
  if (ok && !stack) ok = await ensureClaudeCode(checkOnly);
  if (!ok) process.exit(1);
}

module.exports = { APT_PACKAGES, STACK_PACKAGES, OTHER_PROGRAMS, BASE_SYSTEM };

if (require.main === module) {
  main().catch((err) => {
    say(err.stack || String(err));
    process.exit(1);
  });
}
