/**
 * `tramway demo` (what `npm start` runs): the embedded one-process fleet of examples/fleet applies
 * the example policy and converges; run again on the same data directory it replays the SQLite log
 * and the agents' pinned state, and attaches nothing twice.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '@tramway/shared/infra';
import type { RecordedEvent } from '@tramway/shared/lib';
import type { CliIo } from '../../../services/cli/src/cli-command.js';
import { main } from '../../../services/cli/src/main.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';

let dir: TempDir;

const run = async (argv: readonly string[], env: Readonly<Record<string, string>> = {}) => {
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

interface DemoDoc {
  converged: boolean;
  url: string;
  status: {
    policy: string;
    rollout: { id: string; state: string; waves: { nodes: string[] }[] };
    nodes: { nodeId: string; state: string; functions: { attached: number; pending: number } }[];
  };
}

const events = async (): Promise<RecordedEvent[]> => {
  const store = await SqliteEventStore.open({
    path: dir.file('data/log.sqlite'),
    pollIntervalMs: 0,
  });
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  await store.close();
  return out;
};

beforeEach(() => {
  dir = makeTempDir('tramway-demo-');
});
afterEach(() => dir.remove());

describe('tramway demo --until-converged', () => {
  it('converges the three example nodes, then resumes from its data dir without re-attaching', async () => {
    const argv = [
      'demo',
      '--until-converged',
      '--json',
      '--port',
      '0',
      '--data-dir',
      'data',
      '--timeout-s',
      '30',
    ];
    const first = await run(argv);
    expect(first.code).toBe(0);
    const doc = JSON.parse(first.out) as DemoDoc;
    expect(doc.converged).toBe(true);
    expect(doc.status.policy).toBe('tcp-latency');
    expect(doc.status.rollout.state).toBe('completed');
    expect(doc.status.rollout.waves.map((w) => w.nodes)).toEqual([['web-1'], ['web-2'], ['web-3']]);
    // web-2's nf_tables is not loaded: its two nft_do_chain* targets are pending (examples/fleet)
    expect(
      doc.status.nodes.map((n) => [n.nodeId, n.state, n.functions.attached, n.functions.pending]),
    ).toEqual([
      ['web-1', 'converged', 6, 0],
      ['web-2', 'converged', 4, 2],
      ['web-3', 'converged', 6, 0],
    ]);
    expect(first.err).toContain('tramway embedded: coordinator at http://127.0.0.1:');
    const created = (await events()).filter((e) => e.type === 'LinkCreated');
    // the embedded coordinator signs with a key pair kept in its data dir (the private key 0600),
    // approved its nodes as it does every node, and its agents checked every signature
    const keyFile = dir.file('data/assignment-signing.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, 'utf8');
    expect(key).toContain('BEGIN PRIVATE KEY');
    const approvals = (await events()).filter((e) => e.type === 'NodeApproved');
    expect(approvals.map((e) => [e.metadata.actor, (e.data as { reason: string }).reason])).toEqual(
      [
        ['coordinator', 'auto-approved credential'],
        ['coordinator', 'auto-approved credential'],
        ['coordinator', 'auto-approved credential'],
      ],
    );
    // web-1 and web-2: one multi-link each; web-3 (no multi-link): one link per function
    expect(created).toHaveLength(1 + 1 + 6);
    // the first start issued an admin token: only its hash is in the log, the secret in a 0600 file
    const token = readFileSync(dir.file('data/admin.token'), 'utf8').trim();
    expect(statSync(dir.file('data/admin.token')).mode & 0o777).toBe(0o600);
    const issued = (await events()).filter((e) => e.type === 'AccessTokenIssued');
    expect(
      issued.map((e) => [e.streamId, e.metadata.actor, (e.data as { role: string }).role]),
    ).toEqual([['token-admin', 'coordinator', 'admin']]);
    expect(JSON.stringify(await events())).not.toContain(token);

    const second = await run(argv);
    expect(second.code).toBe(0);
    const again = JSON.parse(second.out) as DemoDoc;
    expect(again.status.rollout.id).toBe(doc.status.rollout.id);
    const all = await events();
    expect(all.filter((e) => e.type === 'LinkCreated')).toHaveLength(created.length);
    expect(all.filter((e) => e.type === 'LinkReleased')).toEqual([]);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    // the same key pair on the second start (the agents' held assignments still verify)
    expect(readFileSync(keyFile, 'utf8')).toBe(key);
    expect(all.filter((e) => e.type === 'NodeApproved')).toHaveLength(3);
    // and the second start kept the token the file holds
    expect(readFileSync(dir.file('data/admin.token'), 'utf8').trim()).toBe(token);
    expect(all.filter((e) => e.type.startsWith('AccessToken'))).toHaveLength(1);
  });

  it('prints the final status table without --json', async () => {
    const r = await run(['demo', '--until-converged', '--port', '0', '--data-dir', 'data']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/NODE\s+LABELS\s+PROFILE\s+PATH/);
    expect(r.out).toMatch(
      /web-3\s+role=web,zone=c,kernel=no-multi-link\s+none\s+fentry-per-function/,
    );
    expect(r.out).toMatch(/wave 2\s+\[#{20}\]\s+1\/1 converged\s+0 failed\s+completed\s+web-3/);
    // the coordinator's and the agents' log: JSON lines in the data dir, and the output says where
    const logFile = dir.file('data/tramway.log');
    expect(r.out).toContain(`logs (JSON lines) in ${logFile}\n`);
    const lines = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { level: string; msg: string; service?: string; nodeId?: string },
      );
    expect(lines.some((l) => l.service === 'coordinator' && l.msg === 'log replayed')).toBe(true);
    expect(new Set(lines.filter((l) => l.service === 'agent').map((l) => l.nodeId))).toEqual(
      new Set(['web-1', 'web-2', 'web-3']),
    );
    // the demo's own API calls, one line each, the admin token never in them
    expect(lines.some((l) => l.msg === 'request' && l.level === 'info')).toBe(true);
    const token = readFileSync(dir.file('data/admin.token'), 'utf8').trim();
    expect(readFileSync(logFile, 'utf8')).not.toContain(token);
    expect(lines.at(-1)).toMatchObject({ service: 'embedded', msg: 'embedded fleet stopped' });
    expect(statSync(logFile).mode & 0o777).toBe(0o600);
  });

  it('exits 1 at once naming the port when it is taken, and 2 for a bad TRAMWAY_LOG_LEVEL', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = await run(['demo', '--port', String(port), '--data-dir', 'data']);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`port ${port} is already in use`);
      // the log file says it too
      const last = readFileSync(dir.file('data/tramway.log'), 'utf8').trim().split('\n');
      expect(last.map((l) => JSON.parse(l) as { level: string })).toContainEqual(
        expect.objectContaining({ level: 'fatal', msg: 'embedded fleet did not start' }),
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    const bad = await run(['demo', '--port', '0', '--data-dir', 'data'], {
      TRAMWAY_LOG_LEVEL: 'loud',
    });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("TRAMWAY_LOG_LEVEL 'loud' is not one of debug, info, warn, error");
  });

  it('exits 1 when the policy is refused, and 2 for a bad fleet file naming the field', async () => {
    writeFileSync(
      dir.file('refused.yaml'),
      [
        'apiVersion: tramway.dev/v1alpha1',
        'kind: TracingPolicy',
        'metadata: { name: nothing }',
        'spec:',
        '  program: { name: p, attach: fentry }',
        "  targets: [{ pattern: 'zzz_*' }]",
      ].join('\n'),
    );
    const refused = await run([
      'demo',
      '--until-converged',
      '--port',
      '0',
      '--data-dir',
      'data',
      '-f',
      'refused.yaml',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('policy nothing refused at plan time');

    writeFileSync(
      dir.file('fleet.yaml'),
      'policy: p.yaml\nnodes:\n  - id: a\n    kernel: missing.yaml\n  - id: "b c"\n    kernel: k.yaml\n',
    );
    const bad = await run(['demo', '--fleet', 'fleet.yaml', '--port', '0', '--data-dir', 'data']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('nodes[1].id: letters, digits and _:@- only');
    const missing = await run(['demo', '--fleet', 'nope.yaml', '--port', '0']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('nope.yaml: cannot read: no such file');
  });
});
