/** `phaseflow stack up|down|status`: the production-shaped stack on this machine (src/stack). */
import type { Command } from 'commander';
import { Stack, type StackOptions } from '../stack/stack';
import { CliError } from './errors';

interface StackFlags {
  dir?: string;
  pgPort?: number;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  json?: boolean;
}

function stackOf(o: StackFlags): Stack {
  const opts: StackOptions = {
    dir: o.dir,
    ports: { postgres: o.pgPort, frontend: o.port, ui: o.uiPort },
    headless: o.headless,
  };
  return new Stack(opts);
}

export function addStackCommands(p: Command, int: (v: string) => number): void {
  const stack = p
    .command('stack')
    .description('a production-shaped stack on this machine: PostgreSQL, the Temporal server on it, the Web UI');
  const common = (c: Command) =>
    c.option(
      '--dir <dir>',
      'where the stack keeps its data, config and logs (PHASEFLOW_STACK_DIR; root: /var/lib/phaseflow/stack)',
    );
  common(stack.command('up'))
    .description(
      'build what is missing (once), start what is not running, register the namespace and search attributes',
    )
    .option('--pg-port <n>', 'PostgreSQL port on 127.0.0.1 (default 55432)', int)
    .option(
      '--port <n>',
      'Temporal frontend port (default 7233; the server also takes the next 3, +10 and +100..+103)',
      int,
    )
    .option('--ui-port <n>', 'Web UI port (default 8080)', int)
    .option('--headless', 'no Web UI')
    .action(async (o: StackFlags) => {
      const started = Date.now();
      const { info, ms } = await stackOf(o).up();
      const secs = (n: number) => `${(n / 1000).toFixed(1)} s`;
      console.log(
        `stack up in ${secs(Date.now() - started)} (${Object.entries(ms)
          .map(([k, v]) => `${k} ${secs(v)}`)
          .join(', ')})`,
      );
      console.log(`  Temporal: ${info.address} (namespace ${info.namespace})`);
      if (info.uiUrl) console.log(`  Web UI:   ${info.uiUrl}`);
      console.log(`  data:     ${info.dir}`);
      console.log(
        `Use it:   export TEMPORAL_ADDRESS=${info.address}${info.uiUrl ? ` PHASEFLOW_UI_URL=${info.uiUrl}` : ''}`,
      );
    });
  common(stack.command('down'))
    .description('stop the Web UI, the Temporal server and PostgreSQL (data is kept)')
    .action(async (o: StackFlags) => {
      const said = await stackOf(o).down();
      console.log(said.length ? said.join('\n') : 'nothing was running');
    });
  common(stack.command('status'))
    .description('what runs and answers (exit 3 when any part is down)')
    .option('--json', 'machine-readable output')
    .action(async (o: StackFlags) => {
      const s = await stackOf(o).status();
      if (o.json) console.log(JSON.stringify(s, null, 2));
      else
        for (const part of s.parts)
          console.log(
            `${part.up ? 'up  ' : 'DOWN'} ${part.name.padEnd(16)} ${part.pid ? `pid ${part.pid}` : 'not running'}  ${part.detail}`,
          );
      if (!s.parts.every((x) => x.up)) throw new CliError('', 3);
    });
}
