/**
 * The audit over the coordinator's HTTP API (GET /v1/audit/...), against a real embedded fleet
 * (coordinator, three agents on simulated kernels, SQLite log and read model in a temporary data
 * dir) over real HTTP: the range of the log, the state at a time or position with its range
 * errors, histories paged with cursors, a viewer token being enough, and `tramway audit` through
 * main() asking the API (by --url, and by default from the demo's directory), or falling back to
 * the local file when no coordinator answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../services/cli/src/cli-command.js';
import { main } from '../../../services/cli/src/main.js';
import { auditSourceOf } from '../../../services/cli/src/commands/audit-context.js';
import { parseFleetArgs } from '../../../services/cli/src/fleet/fleet-options.js';
import type { EmbeddedFleet } from '../../../services/embedded/src/index.js';
import {
  DEFAULT_FLEET_FILE,
  loadFleetFile,
  startEmbeddedFleet,
} from '../../../services/embedded/src/index.js';
import { freePort } from '../../support/nats-server.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';

let dir: TempDir;
let fleet: EmbeddedFleet;
let viewer: string;

const NO_ARGS = {
  positionals: [],
  values: new Map<string, string>(),
  flags: new Set<string>(),
  lists: new Map<string, readonly string[]>(),
  output: 'table' as const,
};

const POLICY = [
  'apiVersion: tramway.dev/v1alpha1',
  'kind: TracingPolicy',
  'metadata: { name: audited }',
  'spec:',
  '  program: { name: lat, attach: fentry }',
  '  targets:',
  "    - pattern: 'tcp_sendmsg'",
  "    - pattern: 'tcp_recvmsg'",
  "  rollout: { waves: [1, '100%'] }",
].join('\n');

const http = async (
  path: string,
  token: string | undefined = fleet.adminToken,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(`${fleet.url}${path}`, {
    ...init,
    headers: {
      'content-type': 'application/json',
      ...(token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` }),
    },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

const run = async (argv: readonly string[], env: Record<string, string> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    cwd: dir.path,
    env: { TRAMWAY_TTY: '0', ...env },
  };
  const code = await main(argv, io);
  return { code, out: out.join(''), err: err.join('') };
};

interface Range {
  first: { position: number; recordedAt: string };
  last: { position: number; recordedAt: string };
  events: number;
}

beforeAll(async () => {
  dir = makeTempDir('tramway-audit-api-');
  const nodes = loadFleetFile(DEFAULT_FLEET_FILE);
  if (!nodes.ok) throw new Error(nodes.error.join('\n'));
  fleet = await startEmbeddedFleet({
    dataDir: dir.file('.tramway'),
    port: await freePort(),
    nodes: nodes.value.nodes,
  });
  const applied = await http('/v1/policies', fleet.adminToken, {
    method: 'POST',
    body: JSON.stringify({ policy: POLICY }),
  });
  expect(applied.status).toBe(202);
  await waitUntil('rollout completed', async () => {
    const s = await http('/v1/policies/audited/status');
    return (s.body['rollout'] as { state?: string } | null)?.state === 'completed';
  });
  const issued = await http('/v1/tokens', fleet.adminToken, {
    method: 'POST',
    body: JSON.stringify({ name: 'auditor', role: 'viewer' }),
  });
  viewer = issued.body['token'] as string;
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  dir?.remove();
});

describe('GET /v1/audit/range and /v1/audit/state', () => {
  it('gives the first and last fleet events of the log (a viewer token is enough)', async () => {
    const r = await http('/v1/audit/range', viewer);
    expect(r.status).toBe(200);
    const range = r.body as unknown as Range;
    expect(range.first.position).toBeGreaterThan(0);
    expect(range.last.position).toBeGreaterThan(range.first.position);
    expect(Date.parse(range.last.recordedAt)).toBeGreaterThanOrEqual(
      Date.parse(range.first.recordedAt),
    );
    expect((await http('/v1/audit/range', '')).status).toBe(401);
  });

  it('answers the fleet, or one node, at a position and at a time', async () => {
    const range = (await http('/v1/audit/range', viewer)).body as unknown as Range;
    const now = await http(`/v1/audit/state?at=${new Date().toISOString()}&node=web-1`, viewer);
    expect(now.status).toBe(200);
    const node = now.body['node'] as { nodeId: string; links: Record<string, unknown> };
    expect(node.nodeId).toBe('web-1');
    expect(Object.keys(node.links).length).toBeGreaterThan(0);
    const first = await http(`/v1/audit/state?position=${range.first.position}`, viewer);
    expect(first.status).toBe(200);
    expect(first.body['position']).toBe(range.first.position);
    // the fleet then is smaller than now: web-3 registered later
    expect(Object.keys((first.body['state'] as { nodes: object }).nodes)).not.toContain('web-3');
  });

  it('refuses a time before the log, a position past it, and a node not known yet, naming the range', async () => {
    const range = (await http('/v1/audit/range', viewer)).body as unknown as Range;
    const covers = `the log covers ${range.first.recordedAt} (position ${range.first.position}) to `;
    const early = await http('/v1/audit/state?at=2020-01-01T00:00:00Z', viewer);
    expect(early.status).toBe(404);
    expect(early.body).toMatchObject({ code: 'OutOfRange' });
    expect(early.body['detail']).toMatch(
      new RegExp(
        `^2020-01-01T00:00:00\\.000Z is before the log begins: ${covers.replace(/[.()]/g, '\\$&')}`,
      ),
    );
    expect((early.body['details'] as { range: Range }).range.first).toEqual(range.first);
    const late = await http(`/v1/audit/state?position=${range.last.position + 1000}`, viewer);
    expect([late.status, late.body['code']]).toEqual([404, 'OutOfRange']);
    expect(late.body['detail']).toContain('is past the end of the log: the log covers');
    // web-3 registers after web-1: at web-1's first event it is not known yet
    const notYet = await http(
      `/v1/audit/state?position=${range.first.position}&node=web-3`,
      viewer,
    );
    expect([notYet.status, notYet.body['code']]).toEqual([404, 'NotFound']);
    expect(notYet.body['detail']).toMatch(
      /^node web-3 is not known at position \d+ \(recorded \S+\): it first appears at \S+ \(position \d+\); the log covers /,
    );
  });

  it('refuses bad queries naming each problem', async () => {
    const r = await http('/v1/audit/state?at=yesterday&nodes=x', viewer);
    expect(r.status).toBe(400);
    expect(r.body['errors']).toEqual(['query.nodes: unknown (known: at, position, node)']);
    const both = await http('/v1/audit/state?at=2026-01-01T00:00:00Z&position=3', viewer);
    expect(both.body['errors']).toEqual(['query: give at most one of at and position']);
    const none = await http('/v1/audit/history', viewer);
    expect(none.body['errors']).toEqual(['query: give exactly one of actor, policy and program']);
  });
});

describe('GET /v1/audit/history and /v1/audit/functions/{name}: paged', () => {
  it('pages a policy history with cursors: the pages put together are the whole list, in log order', async () => {
    const whole = await http('/v1/audit/history?policy=audited&limit=1000', viewer);
    expect(whole.status).toBe(200);
    const all = whole.body['items'] as { position: number; type: string }[];
    expect(whole.body['nextCursor']).toBeNull();
    expect(all.map((e) => e.type)).toContain('PolicyApplied');
    expect(all.map((e) => e.type)).toContain('RolloutCompleted');
    expect(all.length).toBeGreaterThan(4);
    const paged: { position: number }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `policy=audited&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page = await http(`/v1/audit/history?${query}`, viewer);
      expect(page.status).toBe(200);
      const items = page.body['items'] as { position: number }[];
      expect(items.length).toBeLessThanOrEqual(2);
      paged.push(...items);
      cursor = page.body['nextCursor'] as string | null;
      pages++;
    } while (cursor !== null && pages < 100);
    expect(pages).toBe(Math.ceil(all.length / 2));
    expect(paged).toEqual(all);
    const positions = all.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect((await http('/v1/audit/history?policy=audited&cursor=zz', viewer)).status).toBe(400);
  });

  it('filters by type and node, keeps the newest max entries, and tells a function`s history', async () => {
    const links = await http('/v1/audit/history?policy=audited&type=LinkCreated', viewer);
    const items = links.body['items'] as { type: string; nodeId: string }[];
    expect(items.length).toBeGreaterThanOrEqual(3);
    expect(new Set(items.map((e) => e.type))).toEqual(new Set(['LinkCreated']));
    const web2 = await http('/v1/audit/history?policy=audited&type=LinkCreated&node=web-2', viewer);
    expect((web2.body['items'] as { nodeId: string }[]).map((e) => e.nodeId)).toEqual(
      expect.arrayContaining(['web-2']),
    );
    expect(new Set((web2.body['items'] as { nodeId: string }[]).map((e) => e.nodeId))).toEqual(
      new Set(['web-2']),
    );
    const newest = await http('/v1/audit/history?policy=audited&max=2', viewer);
    const all = (await http('/v1/audit/history?policy=audited', viewer)).body['items'] as unknown[];
    expect(newest.body['items']).toEqual(all.slice(-2));
    const fn = await http('/v1/audit/functions/tcp_sendmsg?node=web-1', viewer);
    expect(fn.status).toBe(200);
    const entries = fn.body['items'] as { action: string; policy: string }[];
    expect(entries.some((e) => e.action === 'connected' && e.policy === 'audited')).toBe(true);
    expect((await http('/v1/audit/functions/tcp_sendmsg', viewer)).body['errors']).toEqual([
      'query.node: required (the node whose function it is)',
    ]);
    const plans = await http('/v1/audit/plans/web-1?policy=audited', viewer);
    expect(plans.status).toBe(200);
    expect((plans.body['versions'] as unknown[]).length).toBe(1);
  });
});

describe('tramway audit through the API', () => {
  it('asks the coordinator at --url (no --db) and prints the same tables', async () => {
    const r = await run(['audit', 'policy', 'audited', '--url', fleet.url, '--token', viewer]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^POSITION\s+OCCURRED\s+TYPE\s+ACTOR\s+NODE\s+SUMMARY/);
    expect(r.out).toMatch(/PolicyApplied\s+token:/);
    const fn = await run([
      'audit',
      'function',
      'tcp_sendmsg',
      '--node',
      'web-2',
      '--json',
      '--url',
      fleet.url,
      '--token',
      viewer,
    ]);
    expect(fn.code).toBe(0);
    expect((JSON.parse(fn.out) as { action: string }[]).map((e) => e.action)).toContain(
      'connected',
    );
  });

  it('accepts relative times and says which range the log covers for a time before it', async () => {
    const recent = await run(
      ['audit', 'state', '--at', 'now', '--node', 'web-1', '--url', fleet.url],
      { TRAMWAY_TOKEN: viewer },
    );
    expect(recent.code).toBe(0);
    expect(recent.out).toMatch(/^node web-1 at position \d+ \(recorded /);
    const early = await run(['audit', 'state', '--at', '3650d', '--url', fleet.url], {
      TRAMWAY_TOKEN: viewer,
    });
    expect(early.code).toBe(1);
    expect(early.err).toMatch(
      /^tramway audit state: \S+ is before the log begins: the log covers \S+ \(position \d+\) to \S+ \(position \d+\)\n$/,
    );
    const actor = await run(
      ['audit', 'actor', 'token:admin', '--since', '1h', '--json', '--url', fleet.url],
      { TRAMWAY_TOKEN: viewer },
    );
    expect(actor.code).toBe(0);
    expect((JSON.parse(actor.out) as { type: string }[]).map((e) => e.type)).toContain(
      'PolicyApplied',
    );
  });

  it('without --url or --db in the demo`s directory: the API when a coordinator answers at the default URL, else the local log, said on stderr', async () => {
    // the flag-less default URL (127.0.0.1:7070) is not ours to take on a shared machine: the
    // decision is asked directly with the URL it would probe
    const io = (err: string[]): CliIo => ({
      stdout: () => undefined,
      stderr: (t) => err.push(t),
      cwd: dir.path,
      env: {},
    });
    const served: string[] = [];
    const up = await auditSourceOf(io(served), {
      ...parseFleetArgs(NO_ARGS, io(served)),
      url: fleet.url,
    });
    expect([up.kind, served]).toEqual(['api', []]);
    const dead = `http://127.0.0.1:${await freePort()}`;
    const said: string[] = [];
    const down = await auditSourceOf(io(said), { ...parseFleetArgs(NO_ARGS, io(said)), url: dead });
    expect(down.kind).toBe('local');
    expect(said).toEqual([
      `tramway audit: no coordinator at ${dead} (ECONNREFUSED); reading the local log .tramway/log.sqlite\n`,
    ]);
    // --url (or TRAMWAY_URL) is the caller's choice: no fallback, the failure is reported
    const chosen = await run(['audit', 'policy', 'audited', '--url', dead]);
    expect(chosen.code).toBe(69);
    expect(chosen.err).toContain(`cannot reach the coordinator at ${dead}`);
    // and --db reads that file, whatever runs
    const local = await run([
      'audit',
      'policy',
      'audited',
      '--json',
      '--db',
      '.tramway/log.sqlite',
    ]);
    expect(local.code).toBe(0);
    expect((JSON.parse(local.out) as { type: string }[]).map((e) => e.type)).toContain(
      'PolicyApplied',
    );
  });
});
