/**
 * The stack of the stack suite: one `phaseflow stack` (src/stack) in a temporary directory, on
 * ports chosen free for this run, brought up by ../global.ts before the first test and down after
 * the last. Tests reach it through TEMPORAL_ADDRESS like any server, and through stackUnderTest()
 * to kill or restart its parts.
 */
import * as net from 'node:net';
import { MAX_SERVER_PORT, serverPorts, type StackPorts } from '../../../src/stack/config';
import { Stack } from '../../../src/stack/stack';

let current: Stack | undefined;

export function setStackUnderTest(s: Stack | undefined): void {
  current = s;
}

export function stackUnderTest(): Stack {
  if (!current)
    throw new Error(
      'no stack: run the stack tests with `npm run test:stack` (.mocharc.stack.js loads tests/stack/global.ts)',
    );
  return current;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Ports for a stack: a frontend whose whole block (serverPorts) is free, and free PostgreSQL and UI ports. */
export async function freeStackPorts(): Promise<StackPorts> {
  for (let tries = 0; tries < 200; tries++) {
    // Below MAX_SERVER_PORT with its whole block (membership ports are a smallint in PostgreSQL).
    const frontend = 20_000 + Math.floor(Math.random() * (MAX_SERVER_PORT - 20_000 - 300));
    const block = Object.values(serverPorts(frontend)).flatMap((s) => Object.values(s) as number[]);
    const others = [frontend + 200, frontend + 201];
    const all = [...block, ...others];
    if ((await Promise.all(all.map(portFree))).every(Boolean)) return { frontend, postgres: others[0], ui: others[1] };
  }
  throw new Error('no free block of ports for the stack');
}
