/**
 * Structured logs (pino JSON) to a file or stderr; human output goes to stdout elsewhere.
 * Secrets are redacted by key name, and by value for the keys we know of.
 */
import pino, { type Logger } from 'pino';

const SECRET_KEYS = ['apiKey', 'api_key', 'authorization', 'Authorization', 'x-api-key', 'token', 'password', 'ANTHROPIC_API_KEY', 'GITHUB_TOKEN'];

export function createLogger(opts: { name: string; file?: string; level?: string }): Logger {
  const destination = opts.file ? pino.destination({ dest: opts.file, mkdir: true, sync: false }) : pino.destination(2);
  return pino(
    {
      name: opts.name,
      level: opts.level ?? process.env.PHASEFLOW_LOG_LEVEL ?? 'info',
      redact: { paths: [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`), '*.headers.authorization', '*.headers["x-api-key"]'], censor: '[redacted]' },
      hooks: { streamWrite: redactSecretValues },
    },
    destination,
  );
}

/** Secret values from the environment never reach a log line, whatever key they hide under. */
function redactSecretValues(line: string): string {
  let out = line;
  for (const name of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'GITHUB_TOKEN', 'TEMPORAL_API_KEY']) {
    const v = process.env[name];
    if (v && v.length >= 8) out = out.split(v).join('[redacted]');
  }
  return out;
}
