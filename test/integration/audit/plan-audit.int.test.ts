/**
 * `tramway audit plan` against a real SQLite log: which functions web-1 was told to trace for
 * tcp-latency, and when. v1 is applied by user:alice (rollout r1): its plan is recorded, issued
 * as generation 1, and the agent re-plans when nf_tables loads; v2 is applied by user:bob
 * (rollout r2) and issued as generation 2. web-2 has a plan of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetEvent, RecordedPlan } from '@tramway/shared/domain';
import { SqliteEventStore } from '@tramway/shared/infra';
import type { PlanAudit } from '@tramway/shared/infra';
import type { LoggedFact } from '../../fixtures/event-logs/fleet-log-builder.js';
import { recordAll, toAppendable } from '../../fixtures/event-logs/fleet-log-builder.js';
import { runTramway } from '../../support/cli-io.js';

const target = (fn: string, status: 'attach' | 'pending', btfId: number) =>
  status === 'attach'
    ? {
        function: fn,
        objId: fn.startsWith('nft') ? 101 : 1,
        btfId,
        cookie: '1',
        status,
        headroom: 38,
      }
    : { function: fn, module: 'nf_tables', btfId, cookie: '1', status };
const withModule = (t: ReturnType<typeof target>) =>
  t.function.startsWith('nft') ? { ...t, module: 'nf_tables' } : t;

const planV1: RecordedPlan = {
  path: 'tracing-multi',
  targets: [target('tcp_sendmsg', 'attach', 10), target('nft_do_chain', 'pending', 20)],
  unmatched: [{ pattern: 'xfs:*', reason: 'no module xfs' }],
};
const replannedV1: RecordedPlan = {
  path: 'tracing-multi',
  targets: [target('tcp_sendmsg', 'attach', 10), withModule(target('nft_do_chain', 'attach', 20))],
  unmatched: [],
};
const planV2: RecordedPlan = {
  path: 'tracing-multi',
  targets: [target('tcp_recvmsg', 'attach', 11)],
  unmatched: [],
};

const link = (version: number) => ({
  policy: 'tcp-latency',
  policyVersion: version,
  program: 'tcp_lat',
  attachType: 'BPF_TRACE_FENTRY_MULTI' as const,
  functions: ['tcp_*'],
});

const fact = (actor: string, event: FleetEvent): LoggedFact => ({ actor, event });

/** Positions 1..11, one second apart from 13:00:00Z. */
const LOG: readonly LoggedFact[] = [
  fact('user:alice', {
    type: 'PolicyApplied',
    data: { name: 'tcp-latency', version: 1, spec: {} },
  }),
  fact('user:alice', {
    type: 'RolloutStarted',
    data: { rolloutId: 'r1', policy: 'tcp-latency', policyVersion: 1, waves: 1 },
  }),
  fact('coordinator', {
    type: 'PlanRecorded',
    data: {
      nodeId: 'web-1',
      policy: 'tcp-latency',
      policyVersion: 1,
      rolloutId: 'r1',
      plan: planV1,
    },
  }),
  fact('coordinator', {
    type: 'PlanRecorded',
    data: {
      nodeId: 'web-2',
      policy: 'tcp-latency',
      policyVersion: 1,
      rolloutId: 'r1',
      plan: planV2,
    },
  }),
  fact('coordinator', {
    type: 'AssignmentIssued',
    data: { nodeId: 'web-1', generation: 1, links: [link(1)], initiatedBy: 'user:alice' },
  }),
  fact('agent:web-1', {
    type: 'NodeReplanned',
    data: {
      nodeId: 'web-1',
      generation: 1,
      policy: 'tcp-latency',
      policyVersion: 1,
      reason: 'module nf_tables loaded',
      plan: replannedV1,
    },
  }),
  fact('user:bob', {
    type: 'PolicyApplied',
    data: { name: 'tcp-latency', version: 2, spec: {} },
  }),
  fact('user:bob', {
    type: 'RolloutStarted',
    data: { rolloutId: 'r2', policy: 'tcp-latency', policyVersion: 2, waves: 1 },
  }),
  fact('coordinator', {
    type: 'PlanRecorded',
    data: {
      nodeId: 'web-1',
      policy: 'tcp-latency',
      policyVersion: 2,
      rolloutId: 'r2',
      plan: planV2,
    },
  }),
  fact('coordinator', {
    type: 'AssignmentIssued',
    data: { nodeId: 'web-1', generation: 2, links: [link(2)], initiatedBy: 'user:bob' },
  }),
  fact('coordinator', {
    type: 'AssignmentIssued',
    data: { nodeId: 'web-2', generation: 1, links: [link(1)], initiatedBy: 'user:alice' },
  }),
];

let dir: string;
let db: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramway-plan-audit-'));
  db = join(dir, 'log.sqlite');
  let now = '';
  const store = await SqliteEventStore.open({ path: db, pollIntervalMs: 0, now: () => now });
  for (const e of recordAll(toAppendable(LOG))) {
    now = e.recordedAt;
    const { streamId, streamVersion: _v, globalPosition: _p, recordedAt: _r, ...event } = e;
    await store.append(streamId, 'any', [event]);
  }
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const audit = (...argv: string[]) =>
  runTramway(['audit', 'plan', ...argv, '--db', db], { cwd: dir });
const auditJson = async (...argv: string[]): Promise<PlanAudit> => {
  const { code, stdout, stderr } = await audit(...argv, '--json');
  expect(stderr).toBe('');
  expect(code).toBe(0);
  return JSON.parse(stdout) as PlanAudit;
};

describe('tramway audit plan', () => {
  it('tells, per policy version, the recorded plan (when, by which rollout and whom), the generations that carried it and the re-plans with their reason', async () => {
    const sut = await auditJson('--node', 'web-1');
    expect(sut.nodeId).toBe('web-1');
    expect(sut.position).toBe(11);
    expect(sut.versions.map((v) => [v.policy, v.policyVersion])).toEqual([
      ['tcp-latency', 1],
      ['tcp-latency', 2],
    ]);
    const [v1, v2] = sut.versions;
    expect(v1!.plans).toEqual([
      {
        position: 3,
        at: '2026-11-24T13:00:02.000Z',
        actor: 'coordinator',
        source: 'recorded',
        rolloutId: 'r1',
        rolloutBy: 'user:alice',
        generation: null,
        reason: null,
        plan: planV1,
      },
      {
        position: 6,
        at: '2026-11-24T13:00:05.000Z',
        actor: 'agent:web-1',
        source: 'replanned',
        rolloutId: null,
        rolloutBy: null,
        generation: 1,
        reason: 'module nf_tables loaded',
        plan: replannedV1,
      },
    ]);
    expect(v1!.assignments).toEqual([
      {
        position: 5,
        at: '2026-11-24T13:00:04.000Z',
        generation: 1,
        actor: 'coordinator',
        initiatedBy: 'user:alice',
      },
    ]);
    expect(v2!.plans.map((p) => [p.position, p.rolloutBy, p.plan])).toEqual([
      [9, 'user:bob', planV2],
    ]);
    expect(v2!.assignments.map((a) => [a.generation, a.initiatedBy])).toEqual([[2, 'user:bob']]);
  });

  it('answers as the log stood at a position or an instant', async () => {
    const byPosition = await auditJson('--node', 'web-1', '--position', '5');
    const byTime = await auditJson('--node', 'web-1', '--at', '2026-11-24T13:00:04.500Z');
    for (const sut of [byPosition, byTime]) {
      expect(sut.position).toBe(5);
      expect(sut.versions).toHaveLength(1);
      expect(sut.versions[0]!.plans.map((p) => p.source)).toEqual(['recorded']);
      expect(sut.versions[0]!.assignments.map((a) => a.generation)).toEqual([1]);
    }
  });

  it('keeps to one policy with --policy, and says when a node was told nothing', async () => {
    const other = await auditJson('--node', 'web-1', '--policy', 'udp');
    expect(other.versions).toEqual([]);
    const { code, stdout } = await audit('--node', 'web-9');
    expect(code).toBe(0);
    expect(stdout).toBe('node web-9 was told to trace nothing up to position 11\n');
  });

  it('prints each version as a history table and the functions of its last plan', async () => {
    const { code, stdout } = await audit('--node', 'web-1', '--policy', 'tcp-latency');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe('node web-1 at position 11');
    expect(stdout).toContain('tcp-latency v1\nPOSITION');
    expect(lines.find((l) => l.startsWith('3 '))).toMatch(
      /plan recorded\s+coordinator\s+rollout r1 by user:alice: tracing-multi: 1 attach, 1 pending, 0 refused$/,
    );
    expect(lines.find((l) => l.startsWith('5 '))).toMatch(
      /assignment g1\s+coordinator for user:alice/,
    );
    expect(lines.find((l) => l.startsWith('6 '))).toMatch(
      /replanned\s+agent:web-1\s+at generation 1: module nf_tables loaded \(tracing-multi: 2 attach/,
    );
    expect(stdout).toContain('functions of the plan at position 6 (replanned):');
    expect(lines.some((l) => /^nft_do_chain\s+nf_tables\s+attach\s+101:20\s+1/.test(l))).toBe(true);
  });

  it('refuses --at together with --position', async () => {
    const { code, stderr } = await audit(
      '--node',
      'web-1',
      '--at',
      '2026-11-24T13:00:00Z',
      '--position',
      '3',
    );
    expect(code).toBe(2);
    expect(stderr).toContain('give at most one of --at and --position');
  });
});
