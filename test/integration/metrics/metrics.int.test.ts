/**
 * Metrics of a real coordinator process (JetStream log) and a real agent process (sim kernel,
 * METRICS_PORT) over a secured nats-server: scraped before and after a policy converges, so the
 * counters and histograms are seen to move; the Grafana dashboard's every metric name is checked
 * against what the two really expose.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildHandle, CoordinatorHandle } from '../../support/fleet-processes.js';
import { spawnCoordinator } from '../../support/fleet-processes.js';
import type { NatsServerHandle } from '../../support/nats-server.js';
import { freePort, startNatsServer } from '../../support/nats-server.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';

const NODE = 'metrics-1';
const DASHBOARD = new URL('../../../deploy/grafana/tramway.json', import.meta.url);

let nats: NatsServerHandle;
let coordinator: CoordinatorHandle;
let agent: ChildHandle;
let agentMetricsUrl: string;
let dir: TempDir;

/** The agent process (main.ts) on the server's identity for NODE, with `env` on top. */
const spawnAgent = (env: Record<string, string>): ChildHandle => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@tramway/source', 'services/agent/src/main.ts'],
    {
      env: {
        ...process.env,
        NODE_ID: NODE,
        NATS_URL: nats.url,
        TRAMWAY_SECURITY_DIR: nats.securityDir!,
        STATE_DIR: dir.path,
        HEARTBEAT_MS: '200',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    output: () => output,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
};

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${coordinator.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${coordinator.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as ReturnType<typeof JSON.parse> };
};

const scrapeCoordinator = async (): Promise<string> => {
  const res = await fetch(`${coordinator.url}/metrics`, {
    headers: { authorization: `Bearer ${coordinator.token}` },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return res.text();
};

const scrapeAgent = async (): Promise<string> => {
  const res = await fetch(`${agentMetricsUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return res.text();
};

/** The value of the sample `series` (name plus its exact label text), 0 when absent. */
const value = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
};

/** Every sample name in an exposition (histograms give name_bucket, name_sum, name_count). */
const sampleNames = (text: string): Set<string> =>
  new Set(
    text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]),
  );

/**
 * Every name a query may use: the samples, plus the series declared (`# TYPE`) that have none
 * yet (a labelled counter before its first increment: no link refused so far).
 */
const exposedNames = (text: string): Set<string> => {
  const names = sampleNames(text);
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    else names.add(name!);
  }
  return names;
};

const POLICY = {
  apiVersion: 'tramway.dev/v1alpha1',
  kind: 'TracingPolicy',
  metadata: { name: 'tcp-metrics' },
  spec: {
    program: { name: 'tcp_lat', attach: 'fentry' },
    targets: [{ pattern: 'tcp_*' }],
    rollout: { waves: ['100%'] },
  },
};

beforeAll(async () => {
  dir = makeTempDir('tramway-metrics-');
  nats = await startNatsServer({ nodes: [NODE] });
  coordinator = await spawnCoordinator({ natsUrl: nats.url, securityDir: nats.securityDir });
  const port = await freePort();
  agentMetricsUrl = `http://127.0.0.1:${port}`;
  agent = spawnAgent({ METRICS_PORT: String(port) });
  await waitUntil(
    `${NODE} registered`,
    async () => {
      if (agent.child.exitCode !== null) throw new Error(`agent exited: ${agent.output()}`);
      return (await api('GET', '/v1/nodes')).body.items?.length === 1;
    },
    { timeoutMs: 60_000 },
  );
}, 90_000);

afterAll(async () => {
  await agent?.stop();
  await coordinator?.stop();
  await nats?.stop();
  dir?.remove();
});

describe('metrics of a real coordinator and agent', () => {
  let before: { coordinator: string; agent: string };
  let after: { coordinator: string; agent: string };

  it('needs a credential on the coordinator; the agent serves GET /metrics only', async () => {
    expect((await fetch(`${coordinator.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${agentMetricsUrl}/metrics`, { method: 'POST' })).status).toBe(405);
    expect(
      (await fetch(`${agentMetricsUrl}/metrics`, { method: 'POST' })).headers.get('allow'),
    ).toBe('GET, HEAD');
    expect((await fetch(`${agentMetricsUrl}/`)).status).toBe(404);
  });

  it('moves counters and histograms once a policy converged', async () => {
    before = { coordinator: await scrapeCoordinator(), agent: await scrapeAgent() };
    const applied = await api('POST', '/v1/policies', { policy: POLICY });
    expect(applied.status).toBe(202);
    await waitUntil(
      'rollout completed',
      async () =>
        (await api('GET', '/v1/policies/tcp-metrics/status')).body.rollout?.state === 'completed',
      { timeoutMs: 30_000 },
    );
    // the agent's reconcile outcome reaches the log after the wave's facts: wait for it
    await waitUntil(
      'policy outcome in the metrics',
      async () =>
        value(
          await scrapeCoordinator(),
          'tramway_policy_nodes{policy="tcp-metrics",version="1",state="attached"}',
        ) === 1,
      { timeoutMs: 10_000 },
    );
    after = { coordinator: await scrapeCoordinator(), agent: await scrapeAgent() };
    const c = after.coordinator;
    const a = after.agent;

    // agent: one multi-link on the V24 sim kernel, timed around the driver; passes timed
    const attach = 'tramway_agent_attach_duration_seconds_count{path="tracing-multi",result="ok"}';
    expect(value(before.agent, attach)).toBe(0);
    expect(value(a, attach)).toBeGreaterThanOrEqual(1);
    expect(value(a, 'tramway_agent_link_creates_total{path="tracing-multi"}')).toBe(
      value(a, attach),
    );
    expect(
      value(
        a,
        'tramway_agent_attach_duration_seconds_bucket{le="+Inf",path="tracing-multi",result="ok"}',
      ),
    ).toBe(value(a, attach));
    expect(value(a, 'tramway_agent_reconcile_duration_seconds_count')).toBeGreaterThan(
      value(before.agent, 'tramway_agent_reconcile_duration_seconds_count'),
    );
    expect(value(a, 'tramway_agent_reconciles_total{result="clean"}')).toBeGreaterThanOrEqual(1);
    expect(value(a, 'tramway_agent_links_held')).toBe(1);
    expect(value(a, 'tramway_agent_observed_generation')).toBeGreaterThanOrEqual(1);
    expect(a).toContain(
      'tramway_agent_kernel_info{driver="sim",profile="v24",probed_profile="v24",attach_path="tracing-multi"} 1',
    );
    expect(value(a, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    // no series of the agent names its node: the scraper's target says which node it is
    expect(a).not.toContain(NODE);

    // coordinator: the former series, and the new ones moved
    expect(value(c, 'tramway_nodes')).toBe(1);
    expect(value(c, 'tramway_links')).toBe(1);
    expect(value(c, 'tramway_rollouts{state="completed"}')).toBe(1);
    expect(value(c, 'tramway_events_appended_total')).toBeGreaterThan(
      value(before.coordinator, 'tramway_events_appended_total'),
    );
    expect(value(c, 'tramway_events_appended_by_type_total{type="PolicyApplied"}')).toBe(1);
    expect(value(c, 'tramway_assignments_issued_total')).toBeGreaterThan(
      value(before.coordinator, 'tramway_assignments_issued_total'),
    );
    expect(value(c, 'tramway_facts_ingested_total{type="LinkCreated"}')).toBe(1);
    expect(value(c, 'tramway_link_creates_total{path="tracing-multi"}')).toBe(1);
    expect(value(c, 'tramway_wave_duration_seconds_count{policy="tcp-metrics"}')).toBe(1);
    expect(value(c, 'tramway_nodes_by_state{state="converged"}')).toBe(1);
    expect(value(c, 'tramway_nodes_by_attach_path{path="tracing-multi"}')).toBe(1);
    expect(value(c, `tramway_node_up{node="${NODE}"}`)).toBe(1);
    expect(value(c, `tramway_node_last_seen_age_seconds{node="${NODE}"}`)).toBeLessThan(30);
    expect(value(c, `tramway_trampoline_links_max{node="${NODE}"}`)).toBe(1);
    expect(value(c, 'tramway_trampoline_occupancy_ratio_count')).toBeGreaterThanOrEqual(1);
    expect(
      value(
        c,
        'tramway_http_request_duration_seconds_count{method="POST",route="/v1/policies",status_class="2xx"}',
      ),
    ).toBe(1);
    // the 401 above, by template and class
    expect(
      value(
        c,
        'tramway_http_request_duration_seconds_count{method="GET",route="/metrics",status_class="4xx"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(value(c, 'tramway_http_denied_total{reason="unauthenticated"}')).toBeGreaterThanOrEqual(
      1,
    );
    expect(value(c, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sampleNames(c).has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });

  it('uses in the Grafana dashboard only metric names the coordinator or an agent exposes', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      title: string;
      schemaVersion: number;
      panels: {
        type: string;
        title: string;
        gridPos: { h: number; w: number; x: number; y: number };
        targets?: { refId: string; expr: string }[];
      }[];
    };
    expect(dashboard.title).toBe('Tramway');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const exposed = new Set([...exposedNames(after.coordinator), ...exposedNames(after.agent)]);
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.w).toBeGreaterThan(0);
      if (panel.type === 'row') continue;
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets ?? [])
        for (const m of t.expr.matchAll(/\b(?:tramway|process|nodejs)_[a-zA-Z0-9_]+/g))
          used.add(m[0]);
    }
    const missing = [...used].filter((name) => !exposed.has(name)).sort();
    expect(missing).toEqual([]);
    // the panels cover what the dashboard is for
    for (const name of [
      'tramway_rollouts',
      'tramway_nodes_by_state',
      'tramway_agent_attach_duration_seconds_bucket',
      'tramway_agent_reconcile_duration_seconds_bucket',
      'tramway_wave_duration_seconds_bucket',
      'tramway_trampoline_occupancy_ratio_bucket',
      'tramway_http_request_duration_seconds_bucket',
      'process_cpu_seconds_total',
    ])
      expect(used).toContain(name);
  });

  it('exits 1 at once when the metrics address is taken, 2 on a bad one', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const second = spawnAgent({ METRICS_PORT: String(port), NODE_ID: 'metrics-2' });
      expect(await second.exited).toBe(1);
      expect(second.output()).toContain(`cannot serve metrics on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      taken.close();
    }
    const bad = spawnAgent({ TRAMWAY_METRICS_LISTEN: 'nowhere', NODE_ID: 'metrics-3' });
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain("'nowhere' is not host:port");
  });
});
