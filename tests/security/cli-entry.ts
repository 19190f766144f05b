/**
 * The phaseflow command run from source (what bin/phaseflow.js runs from lib/), for tests that
 * start a real `phaseflow worker` without depending on a build:
 *
 *   node --require tsx/cjs tests/security/cli-entry.ts worker --log-file worker.log
 */
import { main } from '../../src/cli/main';

main().then(() => process.exit(process.exitCode ?? 0));
