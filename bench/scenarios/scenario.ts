/** What every scenario gets and gives back. */
import type { BenchEnv } from '../env';
import type { Figure } from '../report';
import type { Shape } from '../specs';

export interface ScenarioContext {
  env: BenchEnv;
  /** Makes this run's epic slugs unique on a server that may hold earlier runs. */
  runId: string;
  /** How many times the quick scenarios repeat; their figures are medians. */
  repeat: number;
  /** The scale scenario's epic. */
  scale: Shape;
  log: (msg: string) => void;
}

export interface Scenario {
  name: string;
  /** The options its figures depend on, recorded with its entry in results.json. */
  uses: ('repeat' | 'scale')[];
  run(ctx: ScenarioContext): Promise<{ figures: Figure[]; details: Record<string, unknown> }>;
}
