/** The `phaseflow` command line. Human output to stdout, errors to stderr, logs (pino) to a file. */
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { ACTIONS } from '../domain/decisions';
import { epicJsonSchema, SpecError } from '../domain/load-spec';
import { answerCommand, budgetCommand } from './answer';
import { cancelCommand, pauseCommand } from './control';
import { demoCommand } from './demo';
import { demoPlanCommand } from './demo-plan';
import { CliError } from './errors';
import { demoOrchestrateCommand, orchestrateCommand } from './orchestrate';
import { githubStatusCommand } from './github';
import { githubWebhookCommand } from './github-webhook';
import { pendingCommand } from './pending';
import { runtimeInstallCommand, runtimeStatusCommand } from './runtime';
import { analyzeCommand, exportCommand, importCommand, reshapeCommand } from './plans';
import { replanCommand } from './replan';
import { serverCommand } from './server';
import { startCommand, validateCommand } from './start';
import { statusCommand } from './status';
import { watchCommand } from './watch';
import { workerCommand } from '../worker';
import { hostsCommand } from './hosts';
import { addStackCommands } from './stack';
import { withClient } from './target';
import { temporalConfig } from '../temporal/config';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};

const ID_HELP = 'epic slug, or workflow id (epic/<slug>[/<roadmap>/<plan>/<phase>])';
const uiHelp = (fallback = '') =>
  `the Web UI of the server (e.g. http://127.0.0.1:8233), for links to the run (default: PHASEFLOW_UI_URL${fallback})`;
const DECISION_HELP = 'the pending decision meant (its id, as `phaseflow pending` shows); needed when several wait';

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
    .option(
      '--host <name>',
      'also run the activities of epics pinned to this host (its task queue <queue>-host-<name>)',
    )
    .option('--workspace-root <dir>', 'with --host: the workspaces this host holds (an epic elsewhere is refused)')
    .action((o) =>
      workerCommand({ concurrency: o.concurrency, logFile: o.logFile, host: o.host, workspaceRoot: o.workspaceRoot }),
    );

  p.command('validate')
    .argument('<file>', 'epic spec (YAML or JSON)')
    .description('check an epic spec; every problem is printed with its field path')
    .option(
      '--json',
      'print the validated spec as JSON (workspace resolved), e.g. for `temporal workflow start --input-file epic.json`; an invalid spec prints {"valid": false, "problems": [{"path", "message"}]} (exit 2)',
    )
    .option('--create-workspace', 'accept a workspace folder that does not exist yet (start creates it)')
    .action((file, o) => validateCommand(file, { json: o.json, createWorkspace: o.createWorkspace }));

  p.command('schema')
    .description('print the JSON Schema of the epic spec (for editors)')
    .action(() => console.log(JSON.stringify(epicJsonSchema(), null, 2)));

  p.command('start')
    .argument('<file>', 'epic spec (YAML or JSON)')
    .description('validate an epic and start it')
    .option('-w, --watch', 'show live progress until it ends')
    .option('--dry-run', 'simulate the agents (no API key, no cost)')
    .option('--id <workflowId>', 'workflow id (default epic/<slug>)')
    .option('--rerun', "run an epic again whose id already ran (the earlier run's records are archived first)")
    .option('--create-workspace', 'create the workspace folder if it does not exist')
    .option('--ui-url <url>', uiHelp())
    .option(
      '--host <name>',
      "pin the epic to this worker host (default: the spec's host, else the least loaded host with workers)",
    )
    .action((file, o) =>
      startCommand(file, {
        watch: o.watch,
        dryRun: o.dryRun,
        id: o.id,
        uiUrl: o.uiUrl,
        rerun: o.rerun,
        createWorkspace: o.createWorkspace,
        host: o.host,
      }),
    );

  p.command('status')
    .argument('<id>', ID_HELP)
    .description('show the status tree of a run, what it waits on, and the decisions taken so far')
    .option('--json', 'machine-readable output')
    .action((id, o) => statusCommand(id, { json: o.json }));

  const github = p.command('github').description('GitHub sync of a run (spec `github`)');
  github
    .command('status')
    .argument('<id>', ID_HELP)
    .description('per plan: the issue, what was synced, what is pending, the pull request, the last error')
    .option('--json', 'machine-readable output')
    .action((id, o) => githubStatusCommand(id, { json: o.json }));
  github
    .command('webhook')
    .description(
      'receive issue_comment events and apply /phaseflow commands (GITHUB_WEBHOOK_SECRET, GITHUB_TOKEN); the push alternative to polling',
    )
    .requiredOption('--port <n>', 'port to listen on', int)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--path <path>', 'URL path of the webhook', '/')
    .action((o) => githubWebhookCommand({ port: o.port, host: o.host, path: o.path }));

  p.command('watch')
    .argument('<id>', ID_HELP)
    .description('follow a run live (attach any time; Ctrl-C stops watching, not the run); ends when it closes')
    .option('--interval <seconds>', 'seconds between polls', positive, 1)
    .action((id, o) => watchCommand(id, { intervalMs: o.interval * 1000 }));

  p.command('pending')
    .argument('[id]', `${ID_HELP}; default: every running epic`)
    .description(
      'list the decisions waiting on a person: what is asked, since when, the default and when it fires, how to answer',
    )
    .option('--json', 'machine-readable output')
    .action((id, o) => pendingCommand(id, { json: o.json }));

  p.command('approve')
    .argument('<id>', ID_HELP)
    .description('approve the phase waiting for approval (gating.require_phase_approval): the next phase starts')
    .option('--note <text>', 'recorded with the decision')
    .option('--decision <id>', DECISION_HELP)
    .action((id, o) => answerCommand(id, 'approve', { note: o.note, decision: o.decision }));

  p.command('reject')
    .argument('<id>', ID_HELP)
    .description('reject the phase waiting for approval: its plan stops here')
    .requiredOption('--note <text>', 'why (recorded with the decision)')
    .option('--decision <id>', DECISION_HELP)
    .action((id, o) => answerCommand(id, 'reject', { note: o.note, decision: o.decision }));

  p.command('resolve')
    .argument('<id>', ID_HELP)
    .addArgument(
      new Argument(
        '<action>',
        'retry: the failed tasks (or gate) again; retry-phase: every task again; skip: go on with the next phase; abort: stop the plan',
      ).choices(ACTIONS.escalation),
    )
    .description('answer a failed (escalated) phase, or abort a run waiting for a budget raise')
    .option('--note <text>', 'recorded with the decision')
    .option('--decision <id>', DECISION_HELP)
    .action((id, action, o) => answerCommand(id, action, { note: o.note, decision: o.decision }));

  p.command('budget')
    .argument('<id>', ID_HELP)
    .description('raise a spent budget (answers a pending budget question), or change a budget of a running epic')
    .option('--tokens <n>', 'new token limit (absolute, not an increment)', int)
    .option('--usd <x>', 'new USD limit (absolute, not an increment)', positive)
    .addOption(
      new Option('--level <level>', 'whose budget (default: the spent one, else epic)').choices([
        'epic',
        'roadmap',
        'plan',
      ]),
    )
    .option('--note <text>', 'recorded with the decision')
    .option('--decision <id>', DECISION_HELP)
    .action((id, o) =>
      budgetCommand(id, { tokens: o.tokens, usd: o.usd, level: o.level, note: o.note, decision: o.decision }),
    );

  p.command('pause')
    .argument('<id>', ID_HELP)
    .description('pause a run (signal control {paused:true}): no new task starts; running attempts finish')
    .action((id) => pauseCommand(id, true));

  p.command('resume')
    .argument('<id>', ID_HELP)
    .description('resume a paused run (signal control {paused:false})')
    .action((id) => pauseCommand(id, false));

  p.command('cancel')
    .argument('<id>', `${ID_HELP}; the whole epic is cancelled`)
    .description('cancel the epic (Temporal cancellation): running tasks stop, mirrors say cancelled')
    .option('--wait <seconds>', 'how long to wait for it to close', int, 60)
    .action((id, o) => cancelCommand(id, { waitSeconds: o.wait }));

  p.command('import')
    .argument('<path...>', 'CCASP files (EPIC/ROADMAP/PROGRESS.json), Markdown plans, or directories holding them')
    .description('turn existing plans into an epic spec (printed as YAML, or written to --out); nothing is started')
    .option('--out <file>', 'write the spec here (whole or not at all) instead of printing it')
    .option('--strict', 'warnings are errors (exit 2)')
    .option('--json', 'print JSON instead of YAML')
    .addOption(
      new Option('--agent-mode <mode>', 'agentMode of the spec (default: as exported, else dry-run)')
        .choices(['dry-run', 'claude'])
        .default('dry-run'),
    )
    .option('--workspace <dir>', 'workspace of the spec (default ".": the directory of the spec file)')
    .action((paths, o) =>
      importCommand(paths, {
        out: o.out,
        strict: o.strict,
        json: o.json,
        agentMode: o.agentMode,
        workspace: o.workspace,
      }),
    );

  p.command('export')
    .argument('<source>', `an epic spec, any plan \`import\` reads, or a run (${ID_HELP}) for its live status`)
    .argument('<dir>', 'where the files go')
    .description('write a plan as Structure-Level Markdown or as CCASP files (import gives it back unchanged)')
    .addOption(new Option('--to <format>', 'markdown or ccasp').choices(['markdown', 'ccasp']).makeOptionMandatory())
    .addOption(new Option('--level <n>', 'Markdown Structure Level').choices(['0', '1', '2']).default('0'))
    .action((source, dir, o) => exportCommand(source, dir, { to: o.to, level: Number(o.level) as 0 | 1 | 2 }));

  p.command('analyze')
    .argument('<source>', 'an epic spec, or any plan `import` reads (CCASP files, a Markdown plan, a directory)')
    .description("each phase's complexity 1-10 with its reason; expand at 8 or more, collapse at 4 or less")
    .option('--expand-at <n>', 'recommend expanding at this complexity or more', int, 8)
    .option('--collapse-at <n>', 'recommend collapsing at this complexity or less', int, 4)
    .option('--json', 'print JSON')
    .addOption(
      new Option(
        '--mode <mode>',
        'dry-run: the deterministic heuristic; claude: an agent scores each phase (ANTHROPIC_API_KEY)',
      )
        .choices(['dry-run', 'claude'])
        .default('dry-run'),
    )
    .action((source, o) =>
      analyzeCommand(source, { expandAt: o.expandAt, collapseAt: o.collapseAt, json: o.json, mode: o.mode }),
    );

  for (const op of ['expand', 'collapse'] as const)
    p.command(op)
      .argument('<path>', 'a Markdown plan: NNN_name.md, or its directory')
      .description(
        `${op} phases of a Markdown plan as a durable workflow: checkpoint, specialists in parallel, plan diff, approval, apply or restore`,
      )
      .option('--auto', `${op} the phases the analysis recommends`)
      .option('--phase <n...>', `${op} these phases`)
      .option('--expand-at <n>', 'expand at this complexity or more', int, 8)
      .option('--collapse-at <n>', 'collapse at this complexity or less', int, 4)
      .option('--max-parallel <n>', 'specialists at once (default 4)', int)
      .addOption(
        new Option(
          '--mode <mode>',
          'dry-run: deterministic split and merge; claude: an agent writes each phase file or section (the worker needs ANTHROPIC_API_KEY)',
        )
          .choices(['dry-run', 'claude'])
          .default('dry-run'),
      )
      .option('--decision-timeout <seconds>', 'how long the approval waits before its default (reject)', int)
      .option('--id <workflowId>', 'workflow id (default reshape/<plan>)')
      .option('--wait', 'wait for the outcome')
      .action((planPath, o) => reshapeCommand(op, planPath, { ...o }));

  addStackCommands(p, int);
  p.command('hosts')
    .description('worker hosts seen on the task queue: their workers and running epics')
    .option('--json', 'machine-readable output')
    .action((o) => withClient((client) => hostsCommand(client, temporalConfig().taskQueue, { json: o.json })));

  p.command('demo')
    .description(
      'run the demo epic on the server at TEMPORAL_ADDRESS (default 127.0.0.1:7233; a dev server is started if none answers), no API key needed; an earlier demo run still running there is terminated',
    )
    .option('--workspace <dir>', 'where the demo works (default ./demo-workspace, recreated)')
    .option('--keep-server', 'keep a server the demo started running afterwards')
    .option('--ui-url <url>', uiHelp(', else the UI of a server the demo started itself'))
    .action((o) => demoCommand({ workspace: o.workspace, keepServer: o.keepServer, uiUrl: o.uiUrl }));
  p.command('demo-plan')
    .description(
      'a Markdown plan end to end in dry-run (no API key): import, analyze, expand (with approval), start; the completed phase does not run',
    )
    .option('--workspace <dir>', 'where the demo works (default ./demo-plan-workspace, recreated)')
    .action((o) => demoPlanCommand({ workspace: o.workspace }));

  p.command('orchestrate')
    .argument('<goal>', 'what to achieve, in a sentence')
    .description('research → plan → approval → implement → debug → document as one durable run (orchestrate/<slug>)')
    .option('--workspace <dir>', 'the repository to work in (default .)')
    .option('--research <n>', 'research agents, one per topic (default 3, at most 8)', (v) => Number(v))
    .option('--parallel <n>', 'research agents at once (default 3)', int)
    .option('--until <stop>', 'plan | phase:N | all (default all)')
    .option('--out <file>', 'write the outcome (stages, paths, bytes) as JSON here')
    .addOption(new Option('--mode <mode>', 'agents: claude or dry-run').choices(['claude', 'dry-run']))
    .addOption(new Option('--expand <how>', 'phases of complexity ≥ 8').choices(['auto', 'ask', 'off']))
    .option('--slug <slug>', 'names the run, its plan and epic (default: from the goal)')
    .option('--no-wait', 'start and return')
    .action((goal, o) => orchestrateCommand(goal, o));

  p.command('replan')
    .argument('<id>', ID_HELP)
    .argument('<file>', 'the new version: an epic spec (YAML/JSON) or a Markdown plan (file or directory)')
    .description('change the phases of a running epic that have not started (shown as a diff, applied between phases)')
    .option('--check', 'show the diff and the verdict; send nothing')
    .option('--note <text>', 'why (kept with the decision)')
    .action((id, file, o) => replanCommand(id, file, o));

  p.command('demo-orchestrate')
    .description(
      'orchestrate end to end in dry-run (no API key): research, a corrected plan, approval, the epic with a gate the debug agent fixes, document',
    )
    .option('--workspace <dir>', 'where the demo works (default ./demo-orchestrate-workspace, recreated)')
    .option('--out <file>', 'write the outcome as JSON here')
    .action((o) => demoOrchestrateCommand({ workspace: o.workspace, out: o.out }));
  const runtime = p.command('runtime').description('agent runtimes installed on demand (claude-code: Claude Code)');
  runtime
    .command('install')
    .argument('<runtime>', 'claude-code')
    .description('install Claude Code (the Claude Agent SDK and its native binary, ~200 MB) into the cache, once')
    .option('--force', 'install again even if it is there')
    .action((name, o) => runtimeInstallCommand(name, { force: o.force }));
  runtime
    .command('status')
    .argument('<runtime>', 'claude-code')
    .description('whether the runtime is installed, and where (exit 1 if not)')
    .action((name) => runtimeStatusCommand(name));
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
      // Anything else is one line too; the stack only when asked for (PHASEFLOW_DEBUG=1).
      console.error(`error: ${errorText(err)}`);
      if (process.env.PHASEFLOW_DEBUG && err instanceof Error && err.stack) console.error(err.stack);
      process.exitCode = 1;
    }
  }
}

/** The message alone: a SpecFileError reads "<file>: no such file", a failed connection says why. */
function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : '') || String(err);
}
