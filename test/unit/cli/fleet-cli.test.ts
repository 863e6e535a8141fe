import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../support/temp-dir.js';
import { UsageError } from '../../../services/cli/src/cli-command.js';
import type { PlanView, StatusView } from '../../../services/cli/src/fleet/coordinator-client.js';
import {
  DEFAULT_COORDINATOR_URL,
  createCoordinatorClient,
} from '../../../services/cli/src/fleet/coordinator-client.js';
import {
  FleetExit,
  parseFleetArgs,
  reportFailure,
} from '../../../services/cli/src/fleet/fleet-options.js';
import {
  isConverged,
  namesLine,
  progressBar,
  renderPlan,
  rolloutWhat,
  statusLine,
} from '../../../services/cli/src/fleet/fleet-render.js';
import { parsedArgs } from '../../../services/cli/src/cli-args.js';
import { tableLines as table } from '../../../services/cli/src/output.js';
import { captureIo, runTramway } from '../../support/cli-io.js';

const status = (state: string, nodes: string[]): StatusView =>
  ({
    policy: 'p',
    version: 3,
    rollout: {
      id: 'p-v3-x',
      state,
      waves: [
        {
          index: 0,
          nodes: nodes.map((_, i) => `n${i}`),
          state: 'running',
          succeeded: 1,
          failed: 0,
        },
      ],
    },
    nodes: nodes.map((s, i) => ({
      nodeId: `n${i}`,
      generation: 1,
      observedGeneration: 1,
      state: s,
      functions: { attached: 1, pending: 0, rejected: 0 },
    })),
  }) as StatusView;

describe('fleet rendering', () => {
  it('draws a progress bar in proportion, full when there is nothing to wait for', () => {
    expect(progressBar(0, 4, 8)).toBe('[--------]');
    expect(progressBar(1, 4, 8)).toBe('[##------]');
    expect(progressBar(4, 4, 8)).toBe('[########]');
    expect(progressBar(9, 4, 8)).toBe('[########]');
    expect(progressBar(0, 0, 8)).toBe('[########]');
  });

  it('bounds a list of names with "... and N more", the count being the whole', () => {
    expect(namesLine({ count: 3, names: ['a', 'b', 'c'] })).toBe('a, b, c');
    expect(namesLine({ count: 60, names: ['a', 'b', 'c', 'd'] }, 2)).toBe('a, b ... and 58 more');
  });

  it('renders the plan diff per node against the version in force, or as a new policy', () => {
    const base: PlanView = { policy: 'p', version: 3, nodes: [] };
    const diffed = renderPlan({
      ...base,
      current: { version: 2 },
      unchanged: false,
      diff: [
        {
          nodeId: 'a',
          selected: true,
          added: { count: 12, names: Array.from({ length: 12 }, (_, i) => `f${i}`) },
          removed: { count: 1, names: ['old'] },
          unchanged: { count: 4, names: ['u1', 'u2', 'u3', 'u4'] },
        },
        {
          nodeId: 'b',
          selected: false,
          added: { count: 0, names: [] },
          removed: { count: 2, names: ['x', 'y'] },
          unchanged: { count: 0, names: [] },
        },
      ],
    });
    expect(diffed).toContain('policy p v3 (replaces v2): 0 node(s) planned');
    expect(diffed).toContain('changes against v2, in force:');
    expect(diffed).toMatch(/ {2}a\s+\+12\s+-1\s+=4\n/);
    expect(diffed).toMatch(/ {2}b\s+\+0\s+-2\s+=0\s+no longer selected: releases it\n/);
    expect(diffed).toContain('  a + f0, f1, f2, f3, f4, f5, f6, f7 ... and 4 more\n');
    expect(diffed).toContain('  a - old\n');
    expect(diffed).toContain('  b - x, y\n');
    const same = renderPlan({ ...base, version: 2, current: { version: 2 }, unchanged: true });
    expect(same).toContain('policy p v2 unchanged (the spec in force: apply would record nothing)');
    expect(same).toContain("ok: unchanged, 'tramway apply' would do nothing");
    expect(renderPlan({ ...base, version: 1, current: null, diff: [] })).toContain(
      'changes new policy: nothing of it runs yet:\n  no node planned and none runs it',
    );
  });

  it('names what a rollout does: an apply, a rollback from and to, a delete', () => {
    const s = (rollout: Partial<NonNullable<StatusView['rollout']>>): StatusView =>
      ({
        ...status('running', ['converged']),
        rollout: { ...status('running', ['converged']).rollout!, ...rollout },
      }) as StatusView;
    expect(rolloutWhat(s({}))).toBe('rollout');
    expect(rolloutWhat(s({ kind: 'rollback', version: 1, fromVersion: 2 }))).toBe(
      'rollback v2 -> v1',
    );
    expect(rolloutWhat(s({ kind: 'release', version: 4 }))).toBe('delete (release of v4)');
    expect(rolloutWhat(s({ kind: 'release', version: 1, rollsBack: 'p-v1' }))).toBe(
      'rollback v1 -> none (release)',
    );
    expect(
      statusLine({ ...s({ kind: 'release', version: 3 }), version: null, state: 'deleted' }),
    ).toBe(
      'p no version in force (deleted) delete (release of v3) running: wave 0 running 1/1; nodes released 1/1',
    );
  });

  it('aligns table columns on the widest cell and does not pad the last one', () => {
    expect(
      table(
        ['A', 'BB', 'C'],
        [
          ['xxx', 'y', 'z'],
          ['1', '2', ''],
        ],
      ),
    ).toEqual(['A    BB  C', 'xxx  y   z', '1    2']);
  });

  it('renders a plan: per-target status, headroom, errno and reason, and the refusal reasons', () => {
    const plan: PlanView = {
      policy: 'p',
      version: 2,
      nodes: [
        {
          nodeId: 'a',
          policy: 'p',
          policyVersion: 2,
          path: 'tracing-multi',
          targets: [
            { function: 'f1', cookie: '7', status: 'attach', headroom: 37 },
            { function: 'f2', module: 'm', cookie: '0', status: 'pending' },
            {
              function: 'f3',
              cookie: '0',
              status: 'trampoline-full',
              errno: 'E2BIG',
              reason: '38 links',
              headroom: 0,
            },
          ],
          unmatched: [{ pattern: 'zz*', reason: 'no function matched' }],
          counts: { attach: 1, pending: 1, rejected: 0, trampolineFull: 1 },
        },
      ],
      refused: { reasons: ['f3 on a: trampoline full'] },
    };
    const text = renderPlan(plan);
    expect(text).toContain(
      'node a  path tracing-multi  attach 1  pending 1  rejected 0  trampoline-full 1',
    );
    expect(text).toMatch(/f1\s+vmlinux\s+attach\s+37\s+7\n/);
    expect(text).toMatch(/f2\s+m\s+pending\s+-\s+0\s+module not loaded: attached when it loads/);
    expect(text).toMatch(/f3\s+vmlinux\s+trampoline-full\s+0\s+0\s+E2BIG: 38 links/);
    expect(text).toContain('no match: zz*: no function matched');
    expect(text).toContain('REFUSED: policy p would not be applied:\n  - f3 on a: trampoline full');
  });

  it('summarises a status on one line and calls it converged only when complete everywhere', () => {
    expect(statusLine(status('running', ['converged', 'pending']))).toBe(
      'p v3 running: wave 0 running 1/2; nodes converged 1/2',
    );
    expect(isConverged(status('running', ['converged']))).toBe(false);
    expect(isConverged(status('completed', ['converged', 'failed']))).toBe(false);
    expect(isConverged(status('completed', ['converged', 'converged']))).toBe(true);
  });
});

describe('parseFleetArgs', () => {
  it('takes --url over TRAMWAY_URL over the default, and --on-behalf-of over TRAMWAY_ON_BEHALF_OF', () => {
    const env = { TRAMWAY_URL: 'http://env:1', TRAMWAY_ON_BEHALF_OF: 'user:env' };
    expect(parseFleetArgs(parsedArgs(), captureIo().io)).toMatchObject({
      url: DEFAULT_COORDINATOR_URL,
      onBehalfOf: undefined,
    });
    expect(parseFleetArgs(parsedArgs(), captureIo({ env }).io)).toMatchObject({
      url: 'http://env:1',
      onBehalfOf: 'user:env',
    });
    expect(
      parseFleetArgs(
        parsedArgs({ values: { '--url': 'http://flag:2', '--on-behalf-of': 'ci' } }),
        captureIo({ env }).io,
      ),
    ).toMatchObject({
      url: 'http://flag:2',
      onBehalfOf: 'ci',
    });
  });

  it('takes the token from --token, else TRAMWAY_TOKEN, else ./.tramway/admin.token, else none', () => {
    const dir = makeTempDir('tramway-cli-token-');
    try {
      expect(parseFleetArgs(parsedArgs(), captureIo({ cwd: dir.path }).io).token).toBeUndefined();
      mkdirSync(join(dir.path, '.tramway'));
      writeFileSync(join(dir.path, '.tramway', 'admin.token'), 'tw_file\n');
      expect(parseFleetArgs(parsedArgs(), captureIo({ cwd: dir.path }).io)).toMatchObject({
        token: 'tw_file',
        tokenSource: join(dir.path, '.tramway', 'admin.token'),
      });
      const env = { TRAMWAY_TOKEN: 'tw_env' };
      expect(parseFleetArgs(parsedArgs(), captureIo({ cwd: dir.path, env }).io)).toMatchObject({
        token: 'tw_env',
        tokenSource: 'TRAMWAY_TOKEN',
      });
      expect(
        parseFleetArgs(
          parsedArgs({ values: { '--token': 'tw_flag' } }),
          captureIo({ cwd: dir.path, env }).io,
        ),
      ).toMatchObject({ token: 'tw_flag', tokenSource: '--token' });
    } finally {
      dir.remove();
    }
  });

  it('keeps positionals and options, and calls -o json and -o yaml structured (errors as documents)', () => {
    const sut = parseFleetArgs(
      parsedArgs({ positionals: ['x'], values: { '--file': 'p.yaml' }, output: 'yaml' }),
      captureIo().io,
    );
    expect([sut.positionals, sut.values.get('--file'), sut.json]).toEqual([['x'], 'p.yaml', true]);
    expect(parseFleetArgs(parsedArgs({ output: 'wide' }), captureIo().io).json).toBe(false);
  });

  it.each([
    [{ '--url': 'ftp://x' }, "coordinator URL 'ftp://x' is not an http:// or https:// URL"],
    [{ '--on-behalf-of': 'a b' }, "--on-behalf-of 'a b' must be 1-128 letters"],
    [{ '--cert': 'c.pem' }, '--cert and --key'],
  ])('refuses %j: %s', (values, message) => {
    expect(() => parseFleetArgs(parsedArgs({ values }), captureIo().io)).toThrow(UsageError);
    expect(() => parseFleetArgs(parsedArgs({ values }), captureIo().io)).toThrow(message);
  });

  it.each([
    [['nodes', '--nope'], "tramway nodes: unknown option '--nope'"],
    [['nodes', '--url'], "tramway nodes: option '--url <URL>' argument missing"],
    [
      ['nodes', '--url='],
      "tramway nodes: option '--url <URL>' argument '' is invalid. --url needs a value",
    ],
    [['status', '--actor', 'x'], "tramway status: unknown option '--actor'"],
    [
      ['nodes', '-o', 'xml'],
      "tramway nodes: option '-o, --output <FORMAT>' argument 'xml' is invalid. Allowed choices are table, json, yaml, wide.",
    ],
    [
      ['nodes', '--json', '-o', 'yaml'],
      'tramway nodes: --json is -o json: it cannot go with -o yaml',
    ],
    [['rollback'], "tramway rollback: missing required argument 'policy'"],
    [
      ['rollback', 'a', 'b'],
      "tramway rollback: too many arguments for 'rollback'. Expected 1 argument but got 2.",
    ],
  ])('exits 2 for %j, naming what is wrong: %s', async (argv, message) => {
    const sut = await runTramway(argv, { env: { TRAMWAY_URL: 'http://127.0.0.1:9' } });
    expect(sut.code).toBe(2);
    expect(sut.stderr.split('\n')[0]).toBe(message);
    expect(sut.stderr).toContain(`(run 'tramway ${argv[0]!} --help' for usage and examples)`);
    expect(sut.stdout).toBe('');
  });
});

describe('createCoordinatorClient', () => {
  const answering =
    (
      status: number,
      body: string,
      seen: { url?: string; init?: RequestInit }[] = [],
    ): typeof fetch =>
    (input, init) => {
      seen.push({ url: String(input), ...(init ? { init } : {}) });
      return Promise.resolve(new Response(body, { status }));
    };

  it('sends the bearer token, on-behalf-of and JSON body, and encodes path segments', async () => {
    const seen: { url?: string; init?: RequestInit }[] = [];
    const sut = createCoordinatorClient({
      url: 'http://c:1/',
      token: 'tw_secret',
      onBehalfOf: 'user:me',
      fetch: answering(200, '{"rolloutId":"r"}', seen),
    });
    const r = await sut.rollback('a/b', 'why');
    expect(r).toEqual({ ok: true, status: 200, body: { rolloutId: 'r' } });
    expect(seen[0]!.url).toBe('http://c:1/v1/policies/a%2Fb/rollback');
    expect(seen[0]!.init!.method).toBe('POST');
    const headers = seen[0]!.init!.headers as Record<string, string>;
    expect(headers['authorization']).toBe('Bearer tw_secret');
    expect(headers['x-tramway-on-behalf-of']).toBe('user:me');
    expect(headers['x-tramway-actor']).toBeUndefined();
    expect(seen[0]!.init!.body).toBe('{"reason":"why"}');
  });

  it('tells an unreachable coordinator from an error document and from a non-JSON answer', async () => {
    const refused: typeof fetch = () =>
      Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }));
    expect(await createCoordinatorClient({ url: 'http://c:1', fetch: refused }).nodes()).toEqual({
      ok: false,
      kind: 'unreachable',
      url: 'http://c:1',
      message: 'ECONNREFUSED',
    });
    const notFound = await createCoordinatorClient({
      url: 'http://c:1',
      fetch: answering(404, '{"error":{"code":"NotFound","message":"no policy x"}}'),
    }).status('x');
    expect(notFound).toMatchObject({
      ok: false,
      kind: 'http',
      status: 404,
      error: { code: 'NotFound' },
    });
    const html = await createCoordinatorClient({
      url: 'http://c:1',
      fetch: answering(200, '<html>'),
    }).nodes();
    expect(html).toMatchObject({ ok: false, kind: 'protocol' });
  });

  it('reads an RFC 9457 problem as its code, detail and errors (and the older error document)', async () => {
    const problem = JSON.stringify({
      type: 'https://tramway.dev/problems/invalid-policy',
      title: 'Invalid policy',
      status: 400,
      detail: 'the policy is invalid',
      instance: '/v1/policies',
      code: 'InvalidPolicy',
      errors: ['spec.targets: at least one target'],
    });
    expect(
      await createCoordinatorClient({ url: 'http://c:1', fetch: answering(400, problem) }).apply(
        'x',
      ),
    ).toEqual({
      ok: false,
      kind: 'http',
      url: 'http://c:1/v1/policies',
      status: 400,
      error: {
        code: 'InvalidPolicy',
        message: 'the policy is invalid',
        details: ['spec.targets: at least one target'],
      },
    });
    const legacy = await createCoordinatorClient({
      url: 'http://c:1',
      fetch: answering(404, '{"error":{"code":"NotFound","message":"no policy x"}}'),
    }).status('x');
    expect(legacy).toMatchObject({ error: { code: 'NotFound', message: 'no policy x' } });
  });

  it('follows nextCursor until the last page and answers every item', async () => {
    const seen: { url?: string }[] = [];
    const pages: Record<string, string> = {
      '': '{"items":[{"name":"a"},{"name":"b"}],"nextCursor":"Yg"}',
      Yg: '{"items":[{"name":"c"}],"nextCursor":"Yw"}',
      Yw: '{"items":[],"nextCursor":null}',
    };
    const paged: typeof fetch = (input) => {
      const url = new URL(String(input));
      seen.push({ url: String(input) });
      return Promise.resolve(
        new Response(pages[url.searchParams.get('cursor') ?? '']!, { status: 200 }),
      );
    };
    const r = await createCoordinatorClient({ url: 'http://c:1', fetch: paged }).tokens();
    expect(r.ok && r.body.map((t) => t.name)).toEqual(['a', 'b', 'c']);
    expect(seen.map((s) => s.url)).toEqual([
      'http://c:1/v1/tokens?limit=1000',
      'http://c:1/v1/tokens?limit=1000&cursor=Yg',
      'http://c:1/v1/tokens?limit=1000&cursor=Yw',
    ]);
    const broken = await createCoordinatorClient({
      url: 'http://c:1',
      fetch: answering(200, '{"items":"no"}'),
    }).nodes();
    expect(broken).toMatchObject({ ok: false, kind: 'protocol' });
  });
});

describe('reportFailure', () => {
  it('exits 69 when unreachable, 2 for an invalid policy, 1 for other refusals; errors as JSON with --json', () => {
    const sut = captureIo();
    expect(
      reportFailure(sut.io, { output: 'table' }, 'nodes', {
        ok: false,
        kind: 'unreachable',
        url: 'http://c:1',
        message: 'ECONNREFUSED',
      }),
    ).toBe(FleetExit.Unavailable);
    expect(sut.err()).toContain('cannot reach the coordinator at http://c:1 (ECONNREFUSED)');
    const invalid = captureIo();
    expect(
      reportFailure(invalid.io, { output: 'json' }, 'apply', {
        ok: false,
        kind: 'http',
        url: 'u',
        status: 400,
        error: {
          code: 'InvalidPolicy',
          message: 'the policy is invalid',
          details: ['policy.spec.x: bad'],
        },
      }),
    ).toBe(FleetExit.Usage);
    expect(invalid.err()).toBe('tramway apply: the policy is invalid:\n  policy.spec.x: bad\n');
    expect(JSON.parse(invalid.out())).toEqual({
      error: {
        code: 'InvalidPolicy',
        message: 'the policy is invalid',
        details: ['policy.spec.x: bad'],
      },
    });
    expect(
      reportFailure(captureIo().io, { output: 'table' }, 'apply', {
        ok: false,
        kind: 'http',
        url: 'u',
        status: 409,
        error: { code: 'Conflict', message: 'running' },
      }),
    ).toBe(FleetExit.Negative);
  });
});
