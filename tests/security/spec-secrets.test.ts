/**
 * Secrets in task text: a spec carrying a credential anywhere (description, command, gate,
 * title, tag, file name, even a field name) is refused at validation with the field path and the
 * kind of secret, masked, by `phaseflow validate`, by `phaseflow start` (nothing starts), and by
 * the epic workflow itself for input handed to Temporal directly. Ordinary prose about keys and
 * passwords is accepted. Sample secrets are built at run time (fresh random values), so this
 * file holds none.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { SpecError, validateEpic } from '../../src/domain/validate';
import { findSecrets, redactSecrets } from '../../src/domain/secret-scan';
import { testTemporal } from '../support/temporal-server';
import {
  eventTypeName,
  fetchEvents,
  ids,
  testClient,
  uniqueName,
  withWorker,
  workflowExists,
} from '../support/worker-harness';
import { historyText } from '../e2e-agents/helpers';
import { randomAlnum } from './helpers';

const BIN = path.resolve(__dirname, '../../bin/phaseflow.js');
const TASK = 'roadmaps[0].plans[0].phases[0].tasks';
const digits = (n: number) =>
  randomAlnum(n * 2)
    .replace(/\D/g, '')
    .padEnd(n, '7')
    .slice(0, n);
const b64Lines = () => Array.from({ length: 4 }, () => randomAlnum(64)).join('\n');

interface SecretCase {
  label: RegExp;
  value: string;
  /** The part that must never be shown (the rest is a public prefix, a variable name, a URL's host). */
  hidden: string;
}

function secretCases(): SecretCase[] {
  const url = randomAlnum(16);
  const assigned = `Pw${randomAlnum(14)}`;
  const awsSecret = `${randomAlnum(20)}/${randomAlnum(19)}`;
  const body = b64Lines();
  const whole = (label: RegExp, value: string, prefix: number): SecretCase => ({
    label,
    value,
    hidden: value.slice(prefix),
  });
  return [
    whole(/an Anthropic API key/, `sk-ant-api03-${randomAlnum(86)}AA`, 7),
    whole(/an OpenAI API key/, `sk-proj-${randomAlnum(24)}T3BlbkFJ${randomAlnum(24)}`, 3),
    whole(/a GitHub token/, `ghp_${randomAlnum(36)}`, 4),
    whole(/a GitHub fine-grained token/, `github_pat_${randomAlnum(22)}_${randomAlnum(59)}`, 11),
    whole(/an AWS access key id/, `AKIA${randomAlnum(16).toUpperCase()}`, 4),
    { label: /an AWS secret access key/, value: `aws_secret_access_key = ${awsSecret}`, hidden: awsSecret },
    {
      label: /a private key block/,
      value: `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`,
      hidden: body,
    },
    {
      label: /a private key block/,
      value: `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----`,
      hidden: body,
    },
    whole(/a Slack token/, `xoxb-${digits(12)}-${digits(13)}-${randomAlnum(24)}`, 5),
    whole(
      /a Slack webhook URL/,
      `https://hooks.slack.com/services/T${randomAlnum(8).toUpperCase()}/B${randomAlnum(8).toUpperCase()}/${randomAlnum(24)}`,
      29,
    ),
    whole(/a Stripe secret key/, `sk_live_${randomAlnum(24)}`, 8),
    whole(/a Google API key/, `AIza${randomAlnum(35)}`, 4),
    whole(/an npm token/, `npm_${randomAlnum(36)}`, 4),
    whole(/a JSON Web Token/, `eyJ${randomAlnum(20)}.eyJ${randomAlnum(30)}.${randomAlnum(43)}`, 3),
    { label: /a URL with a password/, value: `postgres://shop:${url}@db.internal:5432/shop`, hidden: url },
    {
      label: /a value assigned to a secret-named variable/,
      value: `MY_SERVICE_PASSWORD=${assigned} npm test`,
      hidden: assigned,
    },
  ];
}

/** True when some 8-character piece of `hidden` appears in `text`. */
function exposes(text: string, hidden: string): boolean {
  for (let i = 0; i + 8 <= hidden.length; i++) if (text.includes(hidden.slice(i, i + 8))) return true;
  return false;
}

function baseSpec(slug: string, workspace: string): any {
  return {
    slug,
    title: 'Secrets',
    workspace,
    agentMode: 'dry-run',
    roadmaps: [
      {
        slug: 'r',
        title: 'R',
        plans: [
          {
            slug: 'p',
            title: 'P',
            phases: [
              {
                slug: 'one',
                title: 'One',
                tasks: [
                  { id: 'a', description: 'first' },
                  { id: 'b', description: 'second', kind: 'command', command: 'true' },
                ],
                gate: { commands: ['true'] },
              },
            ],
          },
        ],
      },
    ],
  };
}

/** The SpecError validating `spec` throws (the test fails if it is accepted). */
function specErrorOf(spec: unknown): SpecError {
  try {
    validateEpic(spec, 'epic.yaml');
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e;
  }
  assert.fail('the spec was accepted');
}

/** Where a secret is put, and the path the error must name. */
const PLACES: { name: string; put: (spec: any, secret: string) => void; path: string }[] = [
  {
    name: 'task description',
    put: (s, v) => (s.roadmaps[0].plans[0].phases[0].tasks[0].description = `Deploy with ${v} please`),
    path: `${TASK}[0].description`,
  },
  {
    name: 'command',
    put: (s, v) => (s.roadmaps[0].plans[0].phases[0].tasks[1].command = `curl -H "x: ${v}" https://api.example.com`),
    path: `${TASK}[1].command`,
  },
  {
    name: 'gate command',
    put: (s, v) => (s.roadmaps[0].plans[0].phases[0].gate.commands = [`deploy --token '${v}'`]),
    path: 'roadmaps[0].plans[0].phases[0].gate.commands[0]',
  },
  {
    name: 'phase title',
    put: (s, v) => (s.roadmaps[0].plans[0].phases[0].title = v),
    path: 'roadmaps[0].plans[0].phases[0].title',
  },
  { name: 'epic description', put: (s, v) => (s.description = v), path: 'description' },
  {
    name: 'dry-run summary',
    put: (s, v) => (s.roadmaps[0].plans[0].phases[0].tasks[0].dryRun = { summary: v }),
    path: `${TASK}[0].dryRun.summary`,
  },
  { name: 'tag', put: (s, v) => (s.tags = ['ok', v]), path: 'tags[1]' },
  {
    name: 'file name',
    put: (s, v) => (s.roadmaps[0].plans[0].phases[0].tasks[0].files = [`config/${v}.env`]),
    path: `${TASK}[0].files[0]`,
  },
];

describe('security: secrets in the spec are refused, masked', () => {
  const cases = secretCases();
  cases.forEach((c, i) => {
    const place = PLACES[i % PLACES.length];
    it(`${c.label.source} in the ${place.name}`, () => {
      const spec = baseSpec('sec', '/tmp/never-created');
      place.put(spec, c.value);
      const err = specErrorOf(spec);
      const line = err.message.split('\n').find((l) => l.startsWith(`  ${place.path}: `));
      assert.ok(line, `no problem at ${place.path}:\n${err.message}`);
      assert.match(line, c.label);
      assert.match(line, /\(\d+ characters\)/, 'says how long the hidden part is');
      assert.match(line, /give credentials to the worker's environment instead/);
      assert.ok(!exposes(err.message, c.hidden), `the error shows (part of) the secret:\n${err.message}`);
      assert.equal(err.problems.length, 1, err.message);
    });
  });

  it('a secret as a field name is reported without showing it (in the path either)', () => {
    const token = `ghp_${randomAlnum(36)}`;
    const spec = baseSpec('sec', '/tmp/never-created');
    spec.roadmaps[0].plans[0].phases[0].tasks[0][token] = 'x';
    const err = specErrorOf(spec);
    assert.ok(!exposes(err.message, token.slice(4)), err.message);
    assert.match(
      err.message,
      new RegExp(
        `${TASK.replace(/[.[\]]/g, '\\$&')}\\[0\\]\\.\\[redacted github-token\\]: the field name looks like a GitHub token`,
      ),
    );
    assert.match(err.message, /unknown field "\[redacted github-token\]"/);
  });

  it('a secret given where a number belongs is not echoed in the type error', () => {
    const key = `sk-ant-api03-${randomAlnum(86)}AA`;
    const spec = baseSpec('sec', '/tmp/never-created');
    spec.settings = { maxParallel: key };
    const err = specErrorOf(spec);
    assert.match(err.message, /settings\.maxParallel: expected number, got string "\[redacted anthropic-api-key\]"/);
    assert.match(err.message, /settings\.maxParallel: looks like an Anthropic API key/);
    assert.ok(!exposes(err.message, key.slice(7)), err.message);
  });

  // Prose about credentials, placeholders and references: never a false alarm.
  const BENIGN = [
    'Read the API key from ANTHROPIC_API_KEY; never hard-code it',
    'export ANTHROPIC_API_KEY=$ANTHROPIC_API_KEY && npm test',
    'GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }} gh release create',
    'DATABASE_URL=postgres://postgres:postgres@localhost:5432/test npm run migrate',
    'Set DB_PASSWORD: <your password> in .env.example',
    'keys look like sk-ant-api03-... and tokens like ghp_...; mask them in logs',
    'Add a password field (min 12 characters) and a "forgot password" link',
    'TOKEN_LIMIT: 4096 tokens per request; the tokenizer counts them',
    'Set the API_TOKEN: retrieved from the vault at deploy time',
    'Verify checksum 9f86d081884c7d659a2feaf0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 and commit 3f786850e387550fdab836ed7e6dc881de23001b',
    'Request id 123e4567-e89b-12d3-a456-426614174000; see https://user@example.com/docs and ssh://git@github.com:22/org/repo',
    'Generate an RSA private key with openssl genrsa; store it in the vault, not the repo',
    'const key = process.env.STRIPE_SECRET_KEY; if (!key) throw new Error("missing")',
  ];
  it(`accepts ${BENIGN.length} sentences about keys, tokens and passwords (no false positives)`, () => {
    for (const text of BENIGN) {
      const spec = baseSpec('sec', '/tmp/never-created');
      spec.roadmaps[0].plans[0].phases[0].tasks[0].description = text;
      spec.roadmaps[0].plans[0].phases[0].tasks[1].command = text;
      assert.doesNotThrow(() => validateEpic(spec, 'epic.yaml'), text);
      assert.deepEqual(findSecrets(text), [], text);
      assert.equal(redactSecrets(text), text);
    }
  });
});

function phaseflow(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: process.env, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('security: the CLI refuses a spec with a secret (exit 2), shows it masked, starts nothing', function () {
  this.timeout(120_000);
  const token = `ghp_${randomAlnum(36)}`;
  let dir: string;
  let file: string;
  let ws: string;
  let slug: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pf-sec-cli-'));
    ws = path.join(dir, 'ws');
    slug = uniqueName('sec-cli');
    file = path.join(dir, 'epic.json');
    const spec = baseSpec(slug, ws);
    spec.roadmaps[0].plans[0].phases[0].tasks[1].command = `GITHUB_TOKEN=${token} gh pr create`;
    writeFileSync(file, JSON.stringify(spec, null, 2));
  });

  for (const args of [['validate'], ['validate', '--json'], ['start'], ['start', '--dry-run']]) {
    it(`phaseflow ${args.join(' ')}`, async () => {
      const r = phaseflow([args[0], file, ...args.slice(1)]);
      assert.equal(r.code, 2, r.stderr);
      if (args.includes('--json')) {
        // validate --json lists the problems as JSON on stdout: masked, and never the spec itself.
        const out = JSON.parse(r.stdout);
        assert.deepEqual(Object.keys(out).sort(), ['file', 'problems', 'valid']);
        assert.equal(out.valid, false);
        assert.deepEqual(
          out.problems.map((p: { path: string }) => p.path),
          ['roadmaps[0].plans[0].phases[0].tasks[1].command'],
        );
      } else {
        assert.equal(r.stdout, '', 'nothing on stdout (no normalised spec, no "Started")');
      }
      assert.match(r.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 1 problem`));
      assert.match(r.stderr, /tasks\[1\]\.command \(line \d+\): looks like a GitHub token \(ghp_… \(40 characters\)\)/);
      assert.ok(!exposes(r.stdout + r.stderr, token.slice(4)), r.stderr);
      assert.equal(existsSync(ws), false, 'no workspace');
      assert.equal(await workflowExists(ids.epic(slug)), false, 'no workflow');
    });
  }
});

describe('security: a secret handed to Temporal directly (temporal workflow start --input-file)', function () {
  this.timeout(120_000);

  it('the epic workflow fails with InvalidSpec, masked, and starts nothing; the secret is in the start event, as Temporal stored it', async () => {
    const key = `sk-ant-api03-${randomAlnum(86)}AA`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pf-sec-raw-'));
    const slug = uniqueName('sec-raw');
    const ws = path.join(dir, 'ws');
    const spec = baseSpec(slug, ws);
    spec.roadmaps[0].plans[0].phases[0].tasks[0].description = `Call the API with ${key}`;
    const jsonFile = path.join(dir, 'epic.json');
    writeFileSync(jsonFile, JSON.stringify(spec));

    const { address, namespace, binary } = testTemporal();
    const taskQueue = uniqueName('sec-raw-q');
    const workflowId = ids.epic(slug);
    const err = await withWorker(taskQueue, async () => {
      const r = spawnSync(
        binary,
        [
          'workflow',
          'start',
          '--address',
          address,
          '--namespace',
          namespace,
          '--type',
          'epicWorkflow',
          '--task-queue',
          taskQueue,
          '--workflow-id',
          workflowId,
          '--input-file',
          jsonFile,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const client = await testClient();
      return client.workflow
        .getHandle(workflowId)
        .result()
        .then(
          () => assert.fail('the epic accepted a spec with an API key'),
          (e) => e,
        );
    });
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'InvalidSpec');
    assert.match(
      err.cause.message,
      /tasks\[0\]\.description: looks like an Anthropic API key \(sk-ant-… \(101 characters\)\)/,
    );
    assert.ok(!exposes(err.cause.message, key.slice(7)));

    const events = await fetchEvents(workflowId);
    const names = events.map(eventTypeName);
    assert.deepEqual(
      names.filter((n) => /ACTIVITY|CHILD_WORKFLOW|TIMER/.test(n)),
      [],
      'no activity, child workflow or timer',
    );
    assert.equal(existsSync(ws), false, 'no workspace, so no mirror');
    // The limit of what phaseflow can do: Temporal stores a workflow's input in its first event
    // before any phaseflow code runs. The failure and every later event are clean.
    const [started, ...rest] = events;
    assert.equal(eventTypeName(started), 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
    assert.ok(
      historyText({ events: [started] }).includes(key),
      'the input is in the start event (documented limitation)',
    );
    assert.ok(!historyText({ events: rest }).includes(key.slice(7, 40)), 'no later event carries it');
  });
});
