/**
 * Structured logs (pino JSON) to a file or stderr; human output goes to stdout elsewhere.
 * Secrets are redacted by key name, by the value of every credential in the environment, and by shape.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino, { type Logger } from 'pino';
import { secretValues } from './activities/secrets';
import { redactSecrets } from './domain/secret-scan';

const SECRET_KEYS = [
  'apiKey',
  'api_key',
  'authorization',
  'Authorization',
  'x-api-key',
  'token',
  'password',
  'ANTHROPIC_API_KEY',
  'GITHUB_TOKEN',
];

export function createLogger(opts: { name: string; file?: string; level?: string }): Logger {
  // An fd opened here, not a path pino opens later: a process that exits early (a failed start)
  // would otherwise hit "sonic boom is not ready yet" in pino's exit hook.
  const destination = opts.file ? pino.destination({ dest: openLogFile(opts.file), sync: false }) : pino.destination(2);
  return pino(
    {
      name: opts.name,
      level: opts.level ?? process.env.PHASEFLOW_LOG_LEVEL ?? 'info',
      redact: {
        paths: [
          ...SECRET_KEYS,
          ...SECRET_KEYS.map((k) => `*.${k}`),
          '*.headers.authorization',
          '*.headers["x-api-key"]',
        ],
        censor: '[redacted]',
      },
      hooks: { streamWrite: redactSecretValues },
    },
    destination,
  );
}

/**
 * Secret values never reach a log line, whatever key they hide under: the values of every
 * credential in the environment (by name or value, see activities/secrets.ts), and anything
 * credential-shaped (an API key quoted in an error message, a URL with a password).
 */
function redactSecretValues(line: string): string {
  let out = line;
  for (const v of secretValues(process.env)) {
    out = out.split(v).join('[redacted]');
    // JSON escaping (a value with quotes or backslashes) changes how it appears in the line.
    const escaped = JSON.stringify(v).slice(1, -1);
    if (escaped !== v) out = out.split(escaped).join('[redacted]');
  }
  return redactSecrets(out);
}

function openLogFile(file: string): number {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  return fs.openSync(file, 'a');
}
