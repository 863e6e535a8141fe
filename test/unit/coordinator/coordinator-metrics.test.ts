import { describe, expect, it } from 'vitest';
import type { FleetEvent, FleetRecordedEvent } from '@tramway/shared/domain';
import { streamOf } from '@tramway/shared/domain';
import type { FleetState } from '@tramway/shared/projections';
import { foldFleet, initialFleetState } from '@tramway/shared/projections';
import type { NewEvent } from '@tramway/shared/lib';
import type { CoordinatorMetricsSource } from '../../../services/coordinator/src/metrics/coordinator-metrics.js';
import { createCoordinatorMetrics } from '../../../services/coordinator/src/metrics/coordinator-metrics.js';
import { httpMetricsOn } from '../../../services/coordinator/src/http/metrics.js';

let position = 0;
const recorded = (event: FleetEvent, occurredAt = '2026-11-25T10:00:00Z'): FleetRecordedEvent =>
  ({
    ...event,
    id: `e${++position}`,
    schemaVersion: 1,
    metadata: { occurredAt, actor: 'coordinator' },
    streamId: streamOf(event),
    streamVersion: 1,
    globalPosition: position,
    recordedAt: occurredAt,
  }) as FleetRecordedEvent;

const registered = (nodeId: string): FleetEvent => ({
  type: 'NodeRegistered',
  data: {
    nodeId,
    labels: {},
    bootId: 'b',
    kernelRelease: 'k',
    profile: 'v26',
    btfFingerprint: 'f',
  },
});

/** a link of its own on `fn` (one connection on the trampoline (1, btfId)) */
const link = (nodeId: string, linkId: number, fn: string, btfId: number): FleetEvent => ({
  type: 'LinkCreated',
  data: {
    nodeId,
    linkId,
    programId: linkId,
    programName: 'p',
    attachType: 'BPF_TRACE_FENTRY_MULTI',
    connections: [{ function: fn, objId: 1, btfId, cookie: '0' }],
  },
});

const sourceOf = (
  fleet: FleetState,
  extra: Partial<CoordinatorMetricsSource> = {},
): CoordinatorMetricsSource => ({
  fleet: () => fleet,
  isStale: () => false,
  lastHeardMs: () => undefined,
  refused: () => [],
  nowMs: () => 0,
  ...extra,
});

/** the value of one sample line `name{labels} value`, undefined when absent */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('createCoordinatorMetrics', () => {
  it('keeps the series of the former renderer: nodes, stale, pending, links, rollouts, refused', async () => {
    const fleet = foldFleet(initialFleetState(), [
      recorded(registered('n1')),
      recorded(link('n1', 1, 'f', 2)),
      recorded({
        type: 'RolloutStarted',
        data: { rolloutId: 'r', policy: 'p', policyVersion: 1, waves: 1 },
      }),
      recorded({ type: 'NodeAdmissionPending', data: { nodeId: 'n1', reason: 'waiting' } }),
    ]);
    const sut = createCoordinatorMetrics(
      sourceOf(fleet, {
        isStale: (n) => n === 'n1',
        refused: () => [
          ['node-mismatch', 2],
          ['malformed', 0],
        ],
      }),
    );
    const text = await sut.render();
    expect(text).toContain('tramway_nodes_pending 1\n');
    expect(text).toContain('# TYPE tramway_nodes gauge\ntramway_nodes 1\n');
    expect(text).toContain('tramway_nodes_stale 1\n');
    expect(text).toContain('tramway_links 1\n');
    expect(text).toContain(
      'tramway_rollouts{state="running"} 1\ntramway_rollouts{state="held"} 0\n',
    );
    expect(text).toContain(
      '# TYPE tramway_refused_messages_total counter\ntramway_refused_messages_total{reason="node-mismatch"} 2\ntramway_refused_messages_total{reason="malformed"} 0\n',
    );
    expect(text).toContain(`tramway_log_position ${fleet.position}\n`);
    expect(sample(text, 'tramway_nodes_by_state{state="pending"}')).toBe(1);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('counts appended events by type, facts, assignments and link outcomes by path and errno', async () => {
    const sut = createCoordinatorMetrics(sourceOf(initialFleetState()));
    const ev = (type: string, data: unknown): NewEvent => ({
      id: type,
      type,
      schemaVersion: 1,
      data,
      metadata: { occurredAt: '2026-11-25T10:00:00Z', actor: 'x' },
    });
    sut.logObserver.appended!(
      [
        ev('AssignmentIssued', { nodeId: 'n', generation: 1, links: [] }),
        ev('AssignmentIssued', { nodeId: 'm', generation: 1, links: [] }),
      ],
      'decision',
    );
    sut.logObserver.appended!(
      [
        ev('LinkCreated', { attachType: 'BPF_TRACE_FENTRY' }),
        ev('LinkCreateFailed', { attachType: 'BPF_TRACE_FENTRY_MULTI', errno: 28 }),
        ev('LinkCreateFailed', { attachType: 'BPF_TRACE_KPROBE_MULTI', errno: -99999 }),
        ev('NotAFleetEventType', {}),
      ],
      'facts',
    );
    const text = await sut.render();
    expect(sample(text, 'tramway_events_appended_total')).toBe(6);
    expect(sample(text, 'tramway_events_appended_by_type_total{type="AssignmentIssued"}')).toBe(2);
    // a type the log does not know is not a label value of its own
    expect(sample(text, 'tramway_events_appended_by_type_total{type="_other"}')).toBe(1);
    expect(text).not.toContain('NotAFleetEventType');
    expect(sample(text, 'tramway_facts_ingested_total{type="LinkCreated"}')).toBe(1);
    expect(sample(text, 'tramway_facts_ingested_total{type="AssignmentIssued"}')).toBeUndefined();
    expect(sample(text, 'tramway_assignments_issued_total')).toBe(2);
    expect(sample(text, 'tramway_link_creates_total{path="fentry-per-function"}')).toBe(1);
    expect(
      sample(text, 'tramway_link_create_failures_total{path="tracing-multi",errno="ENOSPC"}'),
    ).toBe(1);
    expect(
      sample(text, 'tramway_link_create_failures_total{path="kprobe-multi",errno="_other"}'),
    ).toBe(1);
  });

  it('observes a wave from its start to its completion, by policy, but not a replayed one', async () => {
    const sut = createCoordinatorMetrics(sourceOf(initialFleetState()));
    const fold = (e: FleetEvent, at: string, replaying = false) =>
      sut.logObserver.folded!(recorded(e, at), replaying);
    const wave = (rolloutId: string, policy: string, replaying: boolean) => {
      fold(
        { type: 'RolloutStarted', data: { rolloutId, policy, policyVersion: 1, waves: 1 } },
        '2026-11-25T10:00:00Z',
        replaying,
      );
      fold(
        { type: 'WaveStarted', data: { rolloutId, wave: 1, nodes: ['n'] } },
        '2026-11-25T10:00:00Z',
        replaying,
      );
      fold(
        { type: 'WaveCompleted', data: { rolloutId, wave: 1, succeeded: 1, failed: 0 } },
        '2026-11-25T10:00:42Z',
        replaying,
      );
    };
    wave('old', 'tcp', true);
    wave('new', 'tcp', false);
    const text = await sut.render();
    expect(sample(text, 'tramway_wave_duration_seconds_count{policy="tcp"}')).toBe(1);
    expect(sample(text, 'tramway_wave_duration_seconds_sum{policy="tcp"}')).toBe(42);
    expect(sample(text, 'tramway_wave_duration_seconds_bucket{le="30",policy="tcp"}')).toBe(0);
    expect(sample(text, 'tramway_wave_duration_seconds_bucket{le="60",policy="tcp"}')).toBe(1);
  });

  it('bounds the policy label: past maxPolicySeries, waves count under _other', async () => {
    const sut = createCoordinatorMetrics(sourceOf(initialFleetState()), {
      maxNodeSeries: 10,
      maxPolicySeries: 2,
      topTrampolines: 3,
    });
    for (const policy of ['a', 'b', 'c', 'd']) {
      sut.logObserver.folded!(
        recorded(
          {
            type: 'RolloutStarted',
            data: { rolloutId: policy, policy, policyVersion: 1, waves: 1 },
          },
          '2026-11-25T10:00:00Z',
        ),
        false,
      );
      sut.logObserver.folded!(
        recorded({ type: 'WaveStarted', data: { rolloutId: policy, wave: 1, nodes: [] } }),
        false,
      );
      sut.logObserver.folded!(
        recorded({
          type: 'WaveCompleted',
          data: { rolloutId: policy, wave: 1, succeeded: 0, failed: 0 },
        }),
        false,
      );
    }
    const text = await sut.render();
    const policies = new Set(
      [...text.matchAll(/tramway_wave_duration_seconds_count\{policy="([^"]+)"\}/g)].map(
        (m) => m[1],
      ),
    );
    expect(policies).toEqual(new Set(['a', 'b', '_other']));
    expect(sample(text, 'tramway_wave_duration_seconds_count{policy="_other"}')).toBe(2);
  });

  it('exposes trampoline occupancy as a distribution, a per-node near-full count and a top N only', async () => {
    // n1: 36 links on f (36/38 >= 90%), 1 on each of g0..g19; n2: 2 links on h
    const events: FleetEvent[] = [registered('n1'), registered('n2')];
    let id = 0;
    for (let i = 0; i < 36; i++) events.push(link('n1', ++id, 'f', 100));
    for (let i = 0; i < 20; i++) events.push(link('n1', ++id, `g${i}`, 200 + i));
    events.push(link('n2', ++id, 'h', 100), link('n2', ++id, 'h', 100));
    const fleet = foldFleet(
      initialFleetState(),
      events.map((e) => recorded(e)),
    );
    const sut = createCoordinatorMetrics(sourceOf(fleet), {
      maxNodeSeries: 1,
      maxPolicySeries: 10,
      topTrampolines: 2,
    });
    const text = await sut.render();
    expect(sample(text, 'tramway_trampoline_occupancy_ratio_count')).toBe(22);
    expect(sample(text, 'tramway_trampoline_occupancy_ratio_bucket{le="0.9"}')).toBe(21);
    expect(sample(text, 'tramway_trampoline_link_budget')).toBe(38);
    expect(sample(text, 'tramway_trampolines_near_full{node="n1"}')).toBe(1);
    expect(sample(text, 'tramway_trampoline_links_max{node="n1"}')).toBe(36);
    // maxNodeSeries 1: n2 has no per-node series (it still counts in the distribution)
    expect(text).not.toContain('node="n2"}');
    const top = [...text.matchAll(/^tramway_trampoline_top_links\{([^}]*)\} (\d+)$/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(top).toEqual(['node="n1",function="f" 36', 'node="n2",function="h" 2']);
    // the 20 one-link functions have no series
    expect(text).not.toContain('function="g');
    // a second scrape gives the same distribution (recomputed, not accumulated)
    expect(sample(await sut.render(), 'tramway_trampoline_occupancy_ratio_count')).toBe(22);
  });

  it('gives two coordinators in one process registries of their own', async () => {
    const a = createCoordinatorMetrics(sourceOf(initialFleetState()));
    const b = createCoordinatorMetrics(sourceOf(initialFleetState()));
    a.logObserver.appended!(
      [
        {
          id: '1',
          type: 'PolicyApplied',
          schemaVersion: 1,
          data: {},
          metadata: { occurredAt: '2026-11-25T10:00:00Z', actor: 'x' },
        },
      ],
      'decision',
    );
    expect(sample(await a.render(), 'tramway_events_appended_total')).toBe(1);
    expect(sample(await b.render(), 'tramway_events_appended_total')).toBe(0);
  });
});

describe('httpMetricsOn', () => {
  it('labels requests by route template and status class, unknown routes and methods bounded', async () => {
    const { registry } = createCoordinatorMetrics(sourceOf(initialFleetState()));
    const sut = httpMetricsOn(registry, ['/v1/nodes', '/v1/policies/{name}']);
    sut.request('GET', '/v1/policies/{name}', 404, 0.002);
    sut.request('GET', '/v1/policies/{name}', 200, 0.002);
    sut.request('BREW', '/wp-admin/../../etc/passwd', 418, 0.002);
    sut.denied('bad_host');
    // declared twice on one registry (HTTP served again): the same series go on
    httpMetricsOn(registry, ['/v1/nodes']).denied('bad_host');
    const text = await registry.metrics();
    expect(
      sample(
        text,
        'tramway_http_request_duration_seconds_count{method="GET",route="/v1/policies/{name}",status_class="4xx"}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'tramway_http_request_duration_seconds_count{method="_other",route="_other",status_class="4xx"}',
      ),
    ).toBe(1);
    expect(text).not.toContain('passwd');
    expect(sample(text, 'tramway_http_denied_total{reason="bad_host"}')).toBe(2);
    expect(sample(text, 'tramway_http_denied_total{reason="rate_limited"}')).toBe(0);
  });
});
