/** The `phaseflow` command line. Human output to stdout, errors to stderr, logs (pino) to a file. */
import { Command, InvalidArgumentError } from 'commander';
import { epicJsonSchema, SpecError } from '../domain/load-spec';
import { demoCommand } from './demo';
import { serverCommand } from './server';
import { CliError, startCommand, statusCommand, validateCommand } from './start';
import { workerCommand } from './worker';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

export function program(): Command {
  const p = new Command('phaseflow')
    .description('Durable multi-phase Claude agent orchestration on Temporal')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });

  p.command('server')
    .description('run a local Temporal dev server (SQLite file, Web UI on :8233, phaseflow search attributes)')
    .option('--db <file>', 'SQLite file (default: ~/.local/share/phaseflow/temporal.sqlite)')
    .option('--port <n>', 'frontend port', int, 7233)
    .option('--ui-port <n>', 'Web UI port', int, 8233)
    .option('--headless', 'no Web UI')
    .action((o) => serverCommand({ dbFile: o.db, port: o.port, uiPort: o.uiPort, headless: o.headless }));

  p.command('worker')
    .description('run a worker (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, PHASEFLOW_TASK_QUEUE)')
    .option('--concurrency <n>', 'task activities run at once', int)
    .option('--log-file <file>', 'pino JSON logs here instead of stderr')
    .action((o) => workerCommand({ concurrency: o.concurrency, logFile: o.logFile }));

  p.command('validate')
    .argument('<file>', 'epic spec (YAML or JSON)')
    .description('check an epic spec; every problem is printed with its field path')
    .option('--json', 'print the validated spec as JSON (workspace resolved), e.g. for `temporal workflow start --input @file`')
    .action((file, o) => validateCommand(file, { json: o.json }));

  p.command('schema')
    .description('print the JSON Schema of the epic spec (for editors)')
    .action(() => console.log(JSON.stringify(epicJsonSchema(), null, 2)));

  p.command('start')
    .argument('<file>', 'epic spec (YAML or JSON)')
    .description('validate an epic and start it')
    .option('-w, --watch', 'show live progress until it ends')
    .option('--dry-run', 'simulate the agents (no API key, no cost)')
    .option('--id <workflowId>', 'workflow id (default epic/<slug>)')
    .action((file, o) => startCommand(file, { watch: o.watch, dryRun: o.dryRun, id: o.id }));

  p.command('status')
    .argument('<id>', 'epic workflow id or slug')
    .description('show the status tree of an epic')
    .option('--json', 'machine-readable output')
    .action((id, o) => statusCommand(id, { json: o.json }));

  p.command('demo')
    .description('run the demo epic on the local server (started if needed), no API key needed')
    .option('--workspace <dir>', 'where the demo works (default ./demo-workspace, recreated)')
    .option('--keep-server', 'keep a server the demo started running afterwards')
    .action((o) => demoCommand({ workspace: o.workspace, keepServer: o.keepServer }));
  return p;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof SpecError) {
      console.error(err.message);
      process.exitCode = 2;
    } else if (err instanceof CliError) {
      if (err.message) console.error(`error: ${err.message}`);
      process.exitCode = err.exitCode;
    } else {
      console.error(`error: ${(err as Error)?.stack ?? err}`);
      process.exitCode = 1;
    }
  }
}
