/**
 * The fleet commands of `tramway` against a real coordinator and three real agents on simulated
 * kernels (the embedded fleet of examples/fleet: V24, V26 with nf_tables not loaded, no multi-link),
 * over real HTTP: --json and table output, exit statuses, and the error cases.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { CliIo } from '../../../services/cli/src/cli-command.js';
import { main } from '../../../services/cli/src/main.js';
import type { EmbeddedFleet } from '../../../services/embedded/src/index.js';
import {
  DEFAULT_FLEET_FILE,
  loadFleetFile,
  startEmbeddedFleet,
} from '../../../services/embedded/src/index.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { freePort } from '../../support/nats-server.js';
import { waitUntil } from '../../support/wait-until.js';

let dir: TempDir;
let fleet: EmbeddedFleet;

const run = async (argv: readonly string[], env: Record<string, string> = {}, columns?: number) => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    cwd: dir.path,
    env: { TRAMWAY_URL: fleet.url, TRAMWAY_TTY: '0', ...env },
    ...(columns === undefined ? {} : { columns }),
  };
  const code = await main(argv, io);
  return { code, out: out.join(''), err: err.join('') };
};

interface StatusDoc {
  version: number;
  rollout: { id: string; state: string } | null;
  nodes: { nodeId: string; state: string; functions: { attached: number } }[];
}

const json = <T = ReturnType<typeof JSON.parse>>(text: string): T => JSON.parse(text) as T;

const policyYaml = (name: string, patterns: readonly string[], extra = ''): string =>
  [
    'apiVersion: tramway.dev/v1alpha1',
    'kind: TracingPolicy',
    `metadata: { name: ${name} }`,
    'spec:',
    '  program: { name: lat, attach: fentry }',
    '  targets:',
    ...patterns.map((p) => `    - pattern: '${p}'`),
    "  rollout: { waves: [1, '100%'] }",
    extra,
  ].join('\n');

const writePolicy = (file: string, text: string): string => {
  writeFileSync(dir.file(file), text);
  return file;
};

beforeAll(async () => {
  dir = makeTempDir('tramway-cli-fleet-');
  const nodes = loadFleetFile(DEFAULT_FLEET_FILE);
  if (!nodes.ok) throw new Error(nodes.error.join('\n'));
  fleet = await startEmbeddedFleet({
    // where `npm start` keeps it: the CLI finds the admin token in ./.tramway/admin.token
    dataDir: dir.file('.tramway'),
    port: 0,
    nodes: nodes.value.nodes,
  });
});

afterAll(async () => {
  await fleet?.stop();
  dir?.remove();
});

describe('tramway nodes', () => {
  it('lists the three simulated nodes with their profile and attach path (--json)', async () => {
    const r = await run(['nodes', '--json']);
    expect(r.code).toBe(0);
    const nodes = json<{ nodeId: string; profile: string; attachPath: string; labels: object }[]>(
      r.out,
    );
    expect(nodes.map((n) => [n.nodeId, n.profile, n.attachPath])).toEqual([
      ['web-1', 'v24', 'tracing-multi'],
      ['web-2', 'v26', 'tracing-multi'],
      ['web-3', 'none', 'fentry-per-function'],
    ]);
    expect(nodes[0]!.labels).toEqual({ role: 'web', zone: 'a', kernel: 'v24' });
  });

  it('prints a table with one row per node', async () => {
    const r = await run(['nodes']);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NODE\s+LABELS\s+PROFILE\s+PATH\s+GENERATION\s+OBSERVED\s+HEALTH/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['web-1', 'role=web,zone=a,kernel=v24', 'v24', 'tracing-multi'],
      ['web-2', 'role=web,zone=b,kernel=v26', 'v26', 'tracing-multi'],
      ['web-3', 'role=web,zone=c,kernel=no-multi-link', 'none', 'fentry-per-function'],
    ]);
  });
});

describe('tramway nodes -o', () => {
  it('prints the same document as yaml as with --json and -o json', async () => {
    const asJson = await run(['nodes', '--json']);
    const asO = await run(['nodes', '-o', 'json']);
    const asYaml = await run(['nodes', '-o', 'yaml']);
    expect([asJson.code, asO.code, asYaml.code]).toEqual([0, 0, 0]);
    // lastSeen moves between calls: compare the rest
    const steady = (nodes: { lastSeen?: unknown; stale?: unknown }[]) =>
      nodes.map(({ lastSeen: _l, stale: _s, ...rest }) => rest);
    expect(steady(JSON.parse(asO.out))).toEqual(steady(JSON.parse(asJson.out)));
    expect(asYaml.out).toMatch(/^- nodeId: web-1\n/);
    expect(steady(parseYaml(asYaml.out))).toEqual(steady(JSON.parse(asJson.out)));
  });

  it('-o wide adds the boot id of each node', async () => {
    const wide = await run(['nodes', '-o', 'wide']);
    const nodes = json<{ bootId: string }[]>((await run(['nodes', '--json'])).out);
    const lines = wide.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/LAST SEEN\s+BOOT ID$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).at(-1))).toEqual(nodes.map((n) => n.bootId));
  });

  it('fits the table to a terminal, and -o wide never cuts it', async () => {
    const fitted = await run(['nodes'], {}, 90);
    const lines = fitted.out.trimEnd().split('\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(90);
    expect(lines[1]).toContain('…');
    const wide = await run(['nodes', '-o', 'wide'], {}, 90);
    expect(wide.out).not.toContain('…');
    expect(Math.max(...wide.out.split('\n').map((l) => l.length))).toBeGreaterThan(90);
  });

  it('gives an error as a yaml document too with -o yaml', async () => {
    const r = await run(['status', 'no-such-policy', '-o', 'yaml']);
    expect(r.code).toBe(1);
    expect(parseYaml(r.out)).toMatchObject({ error: { code: 'NotFound' } });
  });
});

describe('tramway plan', () => {
  it('plans per node: functions, path, pending module targets, headroom (--json, exit 0)', async () => {
    const file = writePolicy(
      'p1.yaml',
      policyYaml('plan-one', ['tcp_v*_connect', 'nf_tables:nft_do_chain']),
    );
    const r = await run(['plan', '-f', file, '--json']);
    expect(r.code).toBe(0);
    const plan = json<{
      refused?: unknown;
      nodes: {
        nodeId: string;
        path: string;
        counts: { attach: number; pending: number };
        targets: { function: string; status: string; headroom?: number }[];
      }[];
    }>(r.out);
    expect(plan.refused).toBeUndefined();
    expect(plan.nodes.map((n) => [n.nodeId, n.path, n.counts.attach, n.counts.pending])).toEqual([
      ['web-1', 'tracing-multi', 3, 0],
      ['web-2', 'tracing-multi', 2, 1],
      ['web-3', 'fentry-per-function', 3, 0],
    ]);
    const web2 = plan.nodes[1]!.targets;
    expect(web2.map((t) => [t.function, t.status])).toEqual([
      ['tcp_v4_connect', 'attach'],
      ['tcp_v6_connect', 'attach'],
      ['nft_do_chain', 'pending'],
    ]);
    expect(web2[0]!.headroom).toBe(38);
  });

  it('prints per node a row per function with status, headroom and why', async () => {
    const file = writePolicy(
      'p2.yaml',
      policyYaml('plan-two', ['tcp_sendmsg', 'nf_tables:nft_do_chain']),
    );
    const r = await run(['plan', '-f', file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('node web-2  path tracing-multi  attach 1  pending 1');
    expect(r.out).toMatch(/nft_do_chain\s+nf_tables\s+pending\s+-\s+0\s+module not loaded/);
    expect(r.out).toMatch(/tcp_sendmsg\s+vmlinux\s+attach\s+38\s+0/);
    expect(r.out).toContain("ok: 'tramway apply -f <file>' would roll it out");
  });

  it('exits 1 with the reasons when the policy is refused at plan time', async () => {
    const file = writePolicy('none.yaml', policyYaml('no-match', ['zzz_nothing_*']));
    const r = await run(['plan', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('REFUSED: policy no-match would not be applied:');
    expect(r.out).toContain('zzz_nothing_*');
    const j = await run(['plan', '-f', file, '--json']);
    expect(j.code).toBe(1);
    expect(json<{ refused: { reasons: string[] } }>(j.out).refused.reasons.length).toBeGreaterThan(
      0,
    );
  });

  it('exits 2 naming every problem of an invalid policy file, with its path', async () => {
    const r = await run([
      'plan',
      '-f',
      '../../../../work/main/examples/policies/invalid-policy.yaml',
    ]);
    const abs = await run(['plan', '-f', `${process.cwd()}/examples/policies/invalid-policy.yaml`]);
    for (const x of [r, abs].filter((y) => !y.err.includes('no such file'))) {
      expect(x.code).toBe(2);
      expect(x.err).toContain('invalid policy');
      expect(x.err).toContain('spec.strategy: must be one of multi, per-function, auto');
      expect(x.err).toContain('spec.targets[1].cookie');
    }
    expect(abs.code).toBe(2);
  });

  it('exits 2 for a missing file, a missing -f, an unknown option, naming what is wrong', async () => {
    const missing = await run(['plan', '-f', 'nope.yaml']);
    expect([missing.code, missing.err]).toEqual([
      2,
      'tramway plan: nope.yaml: cannot read: no such file\n',
    ]);
    const noFile = await run(['plan']);
    expect(noFile.code).toBe(2);
    expect(noFile.err).toContain('-f FILE (the policy) is required');
    const unknown = await run(['plan', '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown option '--frobnicate'");
  });
});

describe('tramway apply, status, rollback', () => {
  /** the status of `name` once `ready` holds (the log is folded a moment after an answer) */
  const statusWhen = (name: string, ready: (s: StatusDoc) => boolean) =>
    waitUntil(`${name} status`, async () => {
      const r = await run(['status', name, '--json']);
      const s = r.code === 0 ? json<StatusDoc>(r.out) : undefined;
      return s && ready(s) ? s : undefined;
    });

  it('applies, watches the rollout to completion, then rolls a second version back', async () => {
    const v1 = writePolicy('roll-v1.yaml', policyYaml('roll', ['tcp_sendmsg']));
    const applied = await run(['apply', '-f', v1, '--json']);
    expect(applied.code).toBe(0);
    expect(json<{ policy: string; version: number }>(applied.out)).toMatchObject({
      policy: 'roll',
      version: 1,
    });
    await statusWhen('roll', (s) => s.version === 1);

    const watched = await run([
      'status',
      'roll',
      '--watch',
      '--json',
      '--interval-ms',
      '50',
      '--timeout-s',
      '20',
    ]);
    expect(watched.code).toBe(0);
    const docs = watched.out
      .trimEnd()
      .split('\n')
      .map((l) => json<StatusDoc>(l));
    expect(docs.at(-1)!.rollout!.state).toBe('completed');

    const table = await run(['status', 'roll']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/wave 0\s+\[#{20}\]\s+1\/1 converged\s+0 failed\s+completed\s+web-1/);
    expect(table.out).toMatch(
      /wave 1\s+\[#{20}\]\s+2\/2 converged\s+0 failed\s+completed\s+web-2,web-3/,
    );
    expect(table.out).toMatch(/web-3\s+1\s+converged\s+\d+\s+\d+\s+1\s+0\s+0/);

    const again = await run(['apply', '-f', v1]);
    expect(again.code).toBe(0);
    expect(again.out).toBe(
      'unchanged: roll v1 is the spec in force (no new version, no rollout)\n',
    );

    const v2 = writePolicy('roll-v2.yaml', policyYaml('roll', ['tcp_sendmsg', 'tcp_recvmsg']));
    expect((await run(['apply', '-f', v2])).code).toBe(0);
    await statusWhen('roll', (s) => s.version === 2);
    const lines = await run([
      'status',
      'roll',
      '--watch',
      '--interval-ms',
      '50',
      '--timeout-s',
      '20',
    ]);
    expect(lines.code).toBe(0);
    expect(lines.out).toMatch(
      /^roll v2 completed: wave 0 completed 1\/1, wave 1 completed 2\/2; nodes converged 3\/3$/m,
    );
    expect(lines.out).toContain('policy roll v2  rollout roll-v2  ');
    const v2Status = json<StatusDoc>((await run(['status', 'roll', '--json'])).out);
    expect(v2Status.nodes.map((n) => n.functions.attached)).toEqual([2, 2, 2]);

    const back = await run(['rollback', 'roll', '--reason', 'test', '--json']);
    expect(back.code).toBe(0);
    expect(json<{ rolloutId: string }>(back.out)).toEqual({
      rolloutId: 'roll-v2-rollback',
      rolledBack: 'roll-v2',
      fromVersion: 2,
      toVersion: 1,
    });
    const rolledBack = await statusWhen(
      'roll',
      (s) => s.version === 1 && s.nodes.every((n) => n.functions.attached === 1),
    );
    expect(rolledBack.nodes.map((n) => n.state)).toEqual(['converged', 'converged', 'converged']);
  });

  it('shows every wave from the start and counts down a pause, redrawn in place on a terminal', async () => {
    const file = writePolicy(
      'paused.yaml',
      policyYaml('paused', ['tcp_close']).replace(
        "waves: [1, '100%'] }",
        "waves: [1, '100%'], pauseSeconds: 3 }",
      ),
    );
    expect((await run(['apply', '-f', file])).code).toBe(0);
    // during the pause the status names the wave not started, its nodes, and when it starts
    const during = await statusWhen('paused', (s) => s.rollout?.state === 'running');
    const doc = json<{
      now: string;
      rollout: {
        waveCount: number;
        waves: { index: number; state: string; nodes: string[] }[];
        pause: { afterWave: number; nextWave: number; seconds: number; endsAt: string } | null;
      };
    }>(JSON.stringify(during));
    expect(doc.rollout.waveCount).toBe(2);
    expect(doc.rollout.waves.map((w) => [w.index, w.nodes])).toEqual([
      [0, ['web-1']],
      [1, ['web-2', 'web-3']],
    ]);
    expect(doc.rollout.waves[1]!.state).toMatch(/^(pending|running)$/);
    const r = await run(
      ['status', 'paused', '--watch', '--interval-ms', '50', '--timeout-s', '20'],
      {
        TRAMWAY_TTY: '1',
      },
    );
    expect(r.code).toBe(0);
    // a first drawing, then at least one redraw: cursor up over the previous drawing, clear below
    const redraws = [...r.out.matchAll(/\x1b\[(\d+)A\r\x1b\[J/g)];
    expect(redraws.length).toBeGreaterThan(0);
    const first = r.out.slice(0, redraws[0]!.index);
    expect(Number(redraws[0]![1])).toBe(first.split('\n').length - 1);
    // the pause counted down, second by second, with the wave to come and its nodes listed
    const countdown = [...r.out.matchAll(/wave 1 starts in (\d+)s/g)].map((m) => Number(m[1]));
    expect(countdown.length).toBeGreaterThan(1);
    expect(new Set(countdown).size).toBeGreaterThan(1);
    expect(countdown.every((n) => n >= 0 && n <= 3)).toBe(true);
    expect(r.out).toMatch(/wave 1\s+\[-{20}\]\s+0\/2 converged\s+0 failed\s+pending\s+web-2,web-3/);
    expect(r.out.slice(redraws.at(-1)!.index)).toMatch(/rollout paused-v1\s+completed/);
  });

  it('answers exit 1 with the coordinator message for an unknown policy', async () => {
    const status = await run(['status', 'no-such-policy']);
    expect([status.code, status.err]).toEqual([1, 'tramway status: no policy no-such-policy\n']);
    const back = await run(['rollback', 'no-such-policy', '--json']);
    expect(back.code).toBe(1);
    expect(json<{ error: { code: string } }>(back.out).error.code).toBe('NotFound');
  });

  it('without POLICY shows the fleet, and --watch without POLICY is a usage error', async () => {
    const fleetStatus = await run(['status', '--json']);
    expect(fleetStatus.code).toBe(0);
    expect(json<{ nodes: unknown[] }>(fleetStatus.out).nodes).toHaveLength(3);
    expect((await run(['status', '--watch'])).code).toBe(2);
  });
});

describe('tramway node module', () => {
  it('loads a module on a node, waits for its report and shows what attached; unload shows what was released', async () => {
    const file = writePolicy('nft.yaml', policyYaml('nft', ['nf_tables:nft_do_chain*']));
    expect((await run(['apply', '-f', file])).code).toBe(0);
    await waitUntil('nft rollout completed', async () => {
      const r = await run(['status', 'nft', '--json']);
      return r.code === 0 && json<StatusDoc>(r.out).rollout?.state === 'completed';
    });
    const loaded = await run(['node', 'module', 'load', 'web-2', 'nf_tables', '--json']);
    expect(loaded.code).toBe(0);
    const effect = json<{
      ok: boolean;
      waited: string;
      effect: {
        moduleLoaded: boolean;
        attached: { policy: string; functions: string[] }[];
        failed: unknown[];
      };
    }>(loaded.out);
    expect(effect).toMatchObject({ ok: true, waited: 'reported' });
    expect(effect.effect.moduleLoaded).toBe(true);
    // the command answered only once the log held the attach: no waiting needed here
    const nft = effect.effect.attached.find((a) => a.policy === 'nft');
    expect(nft?.functions).toHaveLength(2);
    expect(nft?.functions.every((f) => f.startsWith('nf_tables:nft_do_chain'))).toBe(true);
    expect(effect.effect.failed).toEqual([]);
    const s = json<{ nodes: { nodeId: string; functions: { attached: number } }[] }>(
      (await run(['status', 'nft', '--json'])).out,
    );
    expect(s.nodes.find((n) => n.nodeId === 'web-2')?.functions.attached).toBe(2);

    const unloaded = await run(['node', 'module', 'unload', 'web-2', 'nf_tables']);
    expect(unloaded.code).toBe(0);
    expect(unloaded.out).toMatch(
      /^web-2: nf_tables drained and unloaded\nreleased on web-2 \(\d+ function\(s\)\):\n/,
    );
    expect(unloaded.out).toMatch(/^  nft: nf_tables:nft_do_chain\S*, nf_tables:nft_do_chain/m);
    expect(unloaded.out).toMatch(
      /^still pending \(module not loaded\):\n(  \S+: nf_tables:\S+\n)+/m,
    );

    // --no-wait keeps the former answer: the agent's reply alone
    const quick = await run(['node', 'module', 'load', 'web-2', 'nf_tables', '--no-wait']);
    expect([quick.code, quick.out]).toEqual([0, 'web-2: nf_tables loaded\n']);
    const bad = await run(['node', 'module', 'load', 'web-2', 'nf_tables', '--timeout-s', '99']);
    expect([bad.code, bad.err]).toEqual([
      2,
      expect.stringContaining("--timeout-s '99' is not an integer in 1..25"),
    ]);
  });

  it('exits 1 for an unknown node and 2 for a bad action', async () => {
    const unknown = await run(['node', 'module', 'load', 'web-9', 'nf_tables']);
    expect([unknown.code, unknown.err]).toEqual([1, 'tramway node module load: no node web-9\n']);
    const bad = await run(['node', 'module', 'reload', 'web-1', 'nf_tables']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("'reload' is not load or unload");
  });
});

describe('tramway node approve / reset', () => {
  it('lists every embedded node as approved (auto-approved credential), and approving one is a no-op', async () => {
    const table = await run(['nodes']);
    expect(table.out.split('\n')[0]).toMatch(/HEALTH\s+ADMISSION\s+LAST SEEN/);
    const nodes = json<{ nodeId: string; admission: string }[]>(
      (await run(['nodes', '--json'])).out,
    );
    expect(nodes.map((n) => n.admission)).toEqual(['approved', 'approved', 'approved']);
    expect(await run(['node', 'approve', 'web-1'])).toMatchObject({
      code: 0,
      out: 'web-1: already approved\n',
    });
    const unknown = await run(['node', 'approve', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('node nobody has not asked to be admitted');
  });

  it('takes a node back with a new epoch; its agent adopts it', async () => {
    const agent = fleet.agents.find((a) => a.nodeId === 'web-2')!;
    const r = await run(['node', 'reset', 'web-2', '--reason', 'cli test', '--json']);
    expect(r.code).toBe(0);
    const { epoch, generation } = json<{ epoch: number; generation: number }>(r.out);
    expect(epoch).toBe(1);
    await waitUntil('web-2 adopted the new epoch', () => agent.observedGeneration() === generation);
    expect(agent.assignment()).toMatchObject({ epoch: 1, generation });
  });
});

describe('credentials and tramway token', () => {
  /** tramway with cwd `cwd` (default: where no .tramway/admin.token is) */
  const runIn = async (cwd: string, argv: readonly string[], env: Record<string, string> = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      cwd,
      env: { TRAMWAY_URL: fleet.url, TRAMWAY_TTY: '0', ...env },
    });
    return { code, out: out.join(''), err: err.join('') };
  };

  it('finds the admin token in ./.tramway/admin.token (mode 0600) with no flag or variable', async () => {
    expect(statSync(dir.file('.tramway/admin.token')).mode & 0o777).toBe(0o600);
    expect(readFileSync(dir.file('.tramway/admin.token'), 'utf8').trim()).toBe(fleet.adminToken);
    expect((await run(['nodes', '--json'])).code).toBe(0);
    // elsewhere there is no token: a 401 that says where one comes from, exit 1
    const elsewhere = makeTempDir('tramway-no-token-');
    try {
      const r = await runIn(elsewhere.path, ['nodes']);
      expect(r.code).toBe(1);
      expect(r.err).toContain('no credential');
      expect(r.err).toContain('.tramway/admin.token');
    } finally {
      elsewhere.remove();
    }
  });

  it('creates a viewer token shown once, lists it without its secret, and revokes it', async () => {
    const created = await run(['token', 'create', '--name', 'vera', '--role', 'viewer', '--json']);
    expect(created.code).toBe(0);
    const issued = json<{ name: string; role: string; actor: string; token: string }>(created.out);
    expect(issued).toMatchObject({ name: 'vera', role: 'viewer', actor: 'token:vera' });
    expect(issued.token).toMatch(/^tw_[A-Za-z0-9_-]{43}$/);
    const asVera = { TRAMWAY_TOKEN: issued.token };
    const elsewhere = makeTempDir('tramway-vera-');
    try {
      // a viewer reads, but may not apply: 403 naming the role it needs
      expect((await runIn(elsewhere.path, ['nodes'], asVera)).code).toBe(0);
      const file = writePolicy('vera.yaml', policyYaml('vera', ['tcp_sendmsg']));
      const refused = await runIn(dir.path, ['apply', '-f', file, '--token', issued.token]);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('token:vera (viewer) may not POST /v1/policies');
      expect(refused.err).toContain('operator');
      const listed = await run(['token', 'list', '--json']);
      expect(listed.out).not.toContain(issued.token);
      expect(listed.out).not.toMatch(/[0-9a-f]{64}/);
      expect(json<{ name: string; role: string; state: string }[]>(listed.out)).toContainEqual(
        expect.objectContaining({ name: 'vera', role: 'viewer', state: 'active' }),
      );
      const table = await run(['token', 'list']);
      expect(table.out).toMatch(/^vera\s+viewer\s+active\s+token:admin/m);
      // the same name twice is a conflict
      const again = await run(['token', 'create', '--name', 'vera', '--role', 'admin']);
      expect(again.code).toBe(1);
      expect(again.err).toContain('revoke it first');
      const revoked = await run(['token', 'revoke', 'vera', '--reason', 'left']);
      expect(revoked.code).toBe(0);
      expect(revoked.out).toBe('token vera revoked\n');
      const after = await runIn(elsewhere.path, ['nodes'], asVera);
      expect(after.code).toBe(1);
      expect(after.err).toContain('unknown or revoked token');
    } finally {
      elsewhere.remove();
    }
  });

  it('refuses bad token arguments as usage errors', async () => {
    expect((await run(['token', 'create', '--name', 'x'])).code).toBe(2);
    expect((await run(['token', 'create', '--name', 'x', '--role', 'root'])).code).toBe(2);
    expect((await run(['token', 'revoke'])).code).toBe(2);
  });
});

describe('an unreachable coordinator', () => {
  it('is a clear message naming the URL, exit 69, never a stack trace', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    for (const argv of [
      ['nodes'],
      ['status', 'x'],
      ['rollback', 'x'],
      ['node', 'module', 'load', 'a', 'b'],
    ]) {
      const r = await run([...argv, '--url', url]);
      expect(r.code).toBe(69);
      expect(r.err).toContain(`cannot reach the coordinator at ${url} (ECONNREFUSED)`);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    const viaEnv = await run(['nodes', '--json'], { TRAMWAY_URL: url });
    expect(viaEnv.code).toBe(69);
    expect(json<{ error: { code: string } }>(viaEnv.out).error.code).toBe('Unreachable');
  });
});
