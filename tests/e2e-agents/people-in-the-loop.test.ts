/**
 * Agents meeting people, end to end on the real server with the real agent activity against the
 * fake Messages API: a spent budget stops the next model call (the fake sees nothing more) until
 * a person raises it; the stuck detector turns a hang or a tool loop into a question for a person.
 */
import type { Client } from '@temporalio/client';
import assert from 'node:assert/strict';
import type { DecisionRecord, PendingDecision } from '../../src/domain/decisions';
import { decideUpdate, pendingQuery } from '../../src/workflows/messages';
import { fault, reply, type ApiUsage } from '../fake-anthropic/server';
import { agentEpic, AgentScript, failureChain, mirrors, runEpicInProcess, uniqueSlug, useE2eRig } from './helpers';

const usage = (input_tokens: number, output_tokens: number): Partial<ApiUsage> => ({
  input_tokens,
  output_tokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForQuestion(
  client: Client,
  epicId: string,
  kind: PendingDecision['kind'],
  timeoutMs = 30_000,
): Promise<PendingDecision> {
  const handle = client.workflow.getHandle(epicId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [p] = await handle.query(pendingQuery).catch(() => []);
    if (p?.kind === kind) return p;
    if (Date.now() > deadline) throw new Error(`no pending ${kind} decision at ${epicId} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

describe('agents and people (real server, real agent activity, fake Messages API)', function () {
  this.timeout(90_000);
  const rig = useE2eRig();

  it('a spent budget stops the next model call (the fake sees no request after it); a raise lets the agent go on from its transcript', async () => {
    const slug = uniqueSlug('e2e-budget');
    // 700 tokens per turn against a plan budget of 1,000: turn 2 is still allowed (300 left),
    // turn 3 is not (1,400 spent).
    const script = new AgentScript(rig.fake).on(
      '1.1',
      reply.toolUse('Write', { file_path: 'a.txt', content: 'a\n' }, { id: 'toolu_b1', usage: usage(600, 100) }),
      reply.toolUse('Write', { file_path: 'b.txt', content: 'b\n' }, { id: 'toolu_b2', usage: usage(600, 100) }),
      reply.aop('Wrote a.txt and b.txt.', 'success', { usage: usage(600, 100) }),
    );
    const spec = agentEpic({
      slug,
      workspace: rig.ws.dir,
      phases: [{ slug: 'only', tasks: [{ id: '1.1' }] }],
      settings: { decisionTimeoutSeconds: 600 },
    });
    (spec.roadmaps[0].plans[0] as any).budget = { tokens: 1000 };

    let question: PendingDecision | undefined;
    let requestsWhileWaiting = -1;
    let record: DecisionRecord | undefined;
    const run = await runEpicInProcess(rig.client, spec, `e2e-budget-${slug}`, 60_000, async () => {
      question = await waitForQuestion(rig.client, `epic/${slug}`, 'budget');
      await sleep(2000);
      requestsWhileWaiting = rig.fake.messageRequests.length;
      record = await rig.client.workflow.getHandle(question.workflowId).executeUpdate(decideUpdate, {
        args: [{ action: 'raise', tokens: 100_000, by: 'alice', decisionId: question.id }],
      });
    });
    assert.equal(run.error, undefined, failureChain(run.error));
    assert.equal(question?.budgetLevel, 'plan');
    assert.equal(requestsWhileWaiting, 2, 'no model call after the budget was spent');
    assert.equal(script.requests('1.1').length, 3, 'after the raise, one more call finished the task');
    assert.equal(script.left('1.1'), 0);
    // The third request continued the same conversation (two tool results already in it).
    const third = script.requests('1.1')[2].req.body;
    assert.equal(third.messages.filter((m: any) => m.role === 'assistant').length, 2);
    assert.equal(record?.source, 'person');

    const progress = await mirrors.progress(rig.ws.dir, 'greeter');
    assert.equal(progress.status, 'completed');
    assert.equal(progress.phases[0].tasks[0].usage.input_tokens, 1800, 'no usage lost or doubled over the pause');
    assert.deepEqual(
      progress.decisions.map((d: DecisionRecord) => [d.kind, d.action, d.source, d.by]),
      [['budget', 'raise', 'person', 'alice']],
    );
  });

  it('the stuck detector stops a scripted hang (pings, no tokens) and asks a person; the detector and the answer are recorded', async () => {
    const slug = uniqueSlug('e2e-hang');
    const script = new AgentScript(rig.fake).on(
      '1.1',
      reply.toolUse('Write', { file_path: 'a.txt', content: 'a\n' }, { id: 'toolu_h1', usage: usage(100, 10) }),
      fault.pingsOnly(200),
    );
    const spec = agentEpic({
      slug,
      workspace: rig.ws.dir,
      phases: [
        { slug: 'first', tasks: [{ id: '1.1' }] },
        { slug: 'second', tasks: [{ id: '2.1' }] },
      ],
      settings: { decisionTimeoutSeconds: 600, stuckAfterSeconds: 1.5 },
    });
    new AgentScript(rig.fake).on('2.1', reply.aop('Phase 2 done.', 'success', { usage: usage(10, 10) }));
    let question: PendingDecision | undefined;
    const run = await runEpicInProcess(rig.client, spec, `e2e-hang-${slug}`, 60_000, async () => {
      question = await waitForQuestion(rig.client, `epic/${slug}`, 'escalation');
      await rig.client.workflow
        .getHandle(question.workflowId)
        .executeUpdate(decideUpdate, { args: [{ action: 'skip', by: 'bob', decisionId: question.id }] });
    });
    assert.equal(run.error, undefined, failureChain(run.error));
    assert.equal(question?.cause, 'stuck');
    assert.match(question!.detail, /no token or tool call for 1\.5 s/);
    assert.equal(script.requests('1.1').length, 2, 'one attempt: the detector is not retried by the ladder');
    const progress = await mirrors.progress(rig.ws.dir, 'greeter');
    assert.deepEqual(
      progress.decisions.map((d: DecisionRecord) => [d.kind, d.action, d.source]),
      [
        ['detector', 'escalate', 'detector'],
        ['escalation', 'skip', 'person'],
      ],
    );
    assert.equal(progress.phases[1].status, 'completed');
  });

  it('the stuck detector stops an agent repeating the same tool call; the fake sees no request after the loop', async () => {
    const slug = uniqueSlug('e2e-loop');
    const same = () => reply.toolUse('Bash', { command: 'ls' }, { usage: usage(50, 5) });
    const script = new AgentScript(rig.fake).on('1.1', same(), same(), same(), same(), same());
    const spec = agentEpic({
      slug,
      workspace: rig.ws.dir,
      phases: [{ slug: 'only', tasks: [{ id: '1.1' }] }],
      settings: { decisionTimeoutSeconds: 1, toolLoopRepeats: 3 },
    });
    const run = await runEpicInProcess(rig.client, spec, `e2e-loop-${slug}`);
    assert.ok(run.error, 'the default (abort) ends the epic');
    assert.match(failureChain(run.error), /tool call Bash \{"command":"ls"\} repeated 3 times in a row/);
    assert.equal(script.requests('1.1').length, 3);
    assert.equal(script.left('1.1'), 2);
    const progress = await mirrors.progress(rig.ws.dir, 'greeter');
    assert.deepEqual(
      progress.decisions.map((d: DecisionRecord) => [d.kind, d.cause, d.action, d.source]),
      [
        ['detector', 'tool-loop', 'escalate', 'detector'],
        ['escalation', 'tool-loop', 'abort', 'default'],
      ],
    );
  });
});
