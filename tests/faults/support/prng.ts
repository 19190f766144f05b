/**
 * Reproducible randomness (and the env knobs) of the fault tests: one seed per
 * `npm run test:faults` run, printed at the start; PHASEFLOW_FAULT_SEED=<n> replays the same
 * choices (how many kills, the delay before each, which worker, the signals' order, how long the
 * server stays down). Not the machine's timing: where in the epic a kill lands still depends on
 * how fast the run goes.
 * Each test draws from its own stream (seed + test name), so running one test alone with the
 * printed seed reproduces that test.
 */
import { randomInt } from 'node:crypto';

let suiteSeed: number | undefined;

export function faultSeed(): number {
  if (suiteSeed === undefined) {
    const fromEnv = envInt('PHASEFLOW_FAULT_SEED');
    suiteSeed = fromEnv !== undefined ? fromEnv % 2 ** 32 : randomInt(2 ** 32 - 1);
    console.log(`fault tests: seed ${suiteSeed} (PHASEFLOW_FAULT_SEED=${suiteSeed} repeats these choices)`);
  }
  return suiteSeed;
}

export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32 on the suite seed mixed with `stream` (FNV-1a of the name). */
export function prng(stream: string): Prng {
  let h = 0x811c9dc5;
  for (const c of stream) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  let a = (faultSeed() ^ h) >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    between: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor((max - min + 1) * next()),
    pick: (items) => items[Math.floor(items.length * next())],
  };
}

/** A whole-number setting from the environment (undefined when unset), refused clearly when malformed. */
export function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}
