/**
 * The policy verbs of `tramway` through `main()` against a real coordinator and three real agents
 * on simulated kernels (the embedded fleet of examples/fleet), over real HTTP: `plan`'s diff
 * against what runs, `apply` of the spec in force ("unchanged", HTTP 200), `rollback` following
 * its own rollout and refusing a second one with the versions named, and `policy list / get /
 * describe / delete` (confirmation, deleting until every node released it, 404s, the next
 * version after a delete).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../services/cli/src/cli-command.js';
import { main } from '../../../services/cli/src/main.js';
import type { EmbeddedFleet } from '../../../services/embedded/src/index.js';
import {
  DEFAULT_FLEET_FILE,
  loadFleetFile,
  startEmbeddedFleet,
} from '../../../services/embedded/src/index.js';
import { SqliteEventStore } from '@tramway/shared/infra';
import type { RecordedEvent } from '@tramway/shared/lib';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';

let dir: TempDir;
let fleet: EmbeddedFleet;

const run = async (
  argv: readonly string[],
  options: { env?: Record<string, string>; confirm?: (q: string) => Promise<boolean> } = {},
) => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    cwd: dir.path,
    env: { TRAMWAY_URL: fleet.url, TRAMWAY_TTY: '0', ...options.env },
    ...(options.confirm ? { confirm: options.confirm } : {}),
  };
  const code = await main(argv, io);
  return { code, out: out.join(''), err: err.join('') };
};

const json = <T = ReturnType<typeof JSON.parse>>(text: string): T => JSON.parse(text) as T;

const policyYaml = (name: string, patterns: readonly string[]): string =>
  [
    'apiVersion: tramway.dev/v1alpha1',
    'kind: TracingPolicy',
    `metadata: { name: ${name} }`,
    'spec:',
    '  program: { name: lat, attach: fentry }',
    '  targets:',
    ...patterns.map((p) => `    - pattern: '${p}'`),
    "  rollout: { waves: [1, '100%'] }",
  ].join('\n');

const writePolicy = (file: string, text: string): string => {
  writeFileSync(dir.file(file), text);
  return file;
};

interface StatusDoc {
  version: number | null;
  state: string;
  rollout: {
    id: string;
    state: string;
    kind: string;
    version: number;
    fromVersion: number | null;
    rollsBack?: string;
    waves: { nodes: string[]; state: string }[];
  } | null;
  nodes: { nodeId: string; state: string; functions: { attached: number } }[];
}

const statusWhen = (name: string, ready: (s: StatusDoc) => boolean) =>
  waitUntil(`${name} status`, async () => {
    const r = await run(['status', name, '--json']);
    const s = r.code === 0 ? json<StatusDoc>(r.out) : undefined;
    return s && ready(s) ? s : undefined;
  });

/** The policy links each node holds now, `policy@version`, by node. */
const heldLinks = async (policy: string): Promise<Record<string, string[]>> => {
  // what the agents reported (LinkCreated / LinkReleased facts in the log)
  await Promise.resolve();
  const out: Record<string, string[]> = {};
  for (const nodeId of ['web-1', 'web-2', 'web-3']) {
    const node = fleet.coordinator.core.fleet().nodes[nodeId]!;
    out[nodeId] = Object.values(node.links)
      .filter((l) => l.policy === policy)
      .flatMap((l) => l.connections.map((c) => c.function))
      .sort();
  }
  return out;
};

const allEvents = async (): Promise<RecordedEvent[]> => {
  const store = await SqliteEventStore.open({
    path: join(fleet.dataDir, 'log.sqlite'),
    pollIntervalMs: 0,
  });
  try {
    const out: RecordedEvent[] = [];
    for await (const e of store.readAll()) out.push(e);
    return out;
  } finally {
    await store.close();
  }
};

beforeAll(async () => {
  dir = makeTempDir('tramway-cli-policy-verbs-');
  const nodes = loadFleetFile(DEFAULT_FLEET_FILE);
  if (!nodes.ok) throw new Error(nodes.error.join('\n'));
  fleet = await startEmbeddedFleet({
    dataDir: dir.file('.tramway'),
    port: 0,
    nodes: nodes.value.nodes,
  });
});

afterAll(async () => {
  await fleet?.stop();
  dir?.remove();
});

describe('plan and apply against what runs', () => {
  it('plans a new policy as new, then diffs a change per node and says unchanged for the spec in force', async () => {
    const v1 = writePolicy('diff-v1.yaml', policyYaml('diff', ['tcp_sendmsg', 'tcp_recvmsg']));
    const fresh = await run(['plan', '-f', v1, '--json']);
    expect(fresh.code).toBe(0);
    const freshPlan = json(fresh.out);
    expect(freshPlan).toMatchObject({ version: 1, unchanged: false, current: null });
    expect(freshPlan.diff.map((d: { nodeId: string }) => d.nodeId)).toEqual([
      'web-1',
      'web-2',
      'web-3',
    ]);
    expect(freshPlan.diff[0].added).toEqual({ count: 2, names: ['tcp_recvmsg', 'tcp_sendmsg'] });
    const text = await run(['plan', '-f', v1]);
    expect(text.out).toContain('policy diff v1 (new policy): 3 node(s) planned');
    expect(text.out).toMatch(
      /changes new policy: nothing of it runs yet:\n\s+NODE\s+ADDED\s+REMOVED/,
    );
    expect(text.out).toMatch(/web-1\s+\+2\s+-0\s+=0/);

    const applied = await run(['apply', '-f', v1, '--json']);
    expect(applied.code).toBe(0);
    expect(json(applied.out)).toMatchObject({ version: 1, unchanged: false });
    await statusWhen('diff', (s) => s.rollout?.state === 'completed');

    // the same spec: plan and apply say unchanged, at the version in force
    const same = json((await run(['plan', '-f', v1, '--json'])).out);
    expect(same).toMatchObject({ version: 1, unchanged: true, current: { version: 1 } });
    expect(same.diff[0]).toMatchObject({
      added: { count: 0 },
      removed: { count: 0 },
      unchanged: { count: 2, names: ['tcp_recvmsg', 'tcp_sendmsg'] },
    });
    const again = await run(['apply', '-f', v1]);
    expect([again.code, again.out]).toEqual([
      0,
      'unchanged: diff v1 is the spec in force (no new version, no rollout)\n',
    ]);
    const raw = await fetch(`${fleet.url}/v1/policies`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${fleet.adminToken}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ policy: policyYaml('diff', ['tcp_sendmsg', 'tcp_recvmsg']) }),
    });
    expect(raw.status).toBe(200);
    expect(await raw.json()).toMatchObject({ version: 1, unchanged: true });
    expect((await allEvents()).filter((e) => e.type === 'PolicyApplied')).toHaveLength(1);

    // a change: per node, added, removed and unchanged against v1
    const v2 = writePolicy('diff-v2.yaml', policyYaml('diff', ['tcp_sendmsg', 'tcp_v*_connect']));
    const changed = json((await run(['plan', '-f', v2, '--json'])).out);
    expect(changed).toMatchObject({ version: 2, unchanged: false, current: { version: 1 } });
    expect(changed.diff[0]).toMatchObject({
      nodeId: 'web-1',
      selected: true,
      added: { count: 2, names: ['tcp_v4_connect', 'tcp_v6_connect'] },
      removed: { count: 1, names: ['tcp_recvmsg'] },
      unchanged: { count: 1, names: ['tcp_sendmsg'] },
    });
    const changedText = (await run(['plan', '-f', v2])).out;
    expect(changedText).toContain('policy diff v2 (replaces v1)');
    expect(changedText).toContain('changes against v1, in force:');
    expect(changedText).toMatch(/web-1\s+\+2\s+-1\s+=1/);
    expect(changedText).toContain('web-1 + tcp_v4_connect, tcp_v6_connect');
    expect(changedText).toContain('web-1 - tcp_recvmsg');
  });
});

describe('tramway rollback', () => {
  it('shows the rollback as its own rollout, waits for it, and refuses a second one naming the versions', async () => {
    const v1 = writePolicy('rb-v1.yaml', policyYaml('rb', ['tcp_sendmsg']));
    expect((await run(['apply', '-f', v1])).code).toBe(0);
    await statusWhen('rb', (s) => s.rollout?.state === 'completed');
    const v2 = writePolicy('rb-v2.yaml', policyYaml('rb', ['tcp_sendmsg', 'tcp_close']));
    expect((await run(['apply', '-f', v2])).code).toBe(0);
    await statusWhen('rb', (s) => s.version === 2 && s.rollout?.state === 'completed');

    const back = await run(['rollback', 'rb', '--interval-ms', '50', '--timeout-s', '30']);
    expect(back.code, back.err).toBe(0);
    expect(back.out).toMatch(
      /^rolling rb back from v2 to v1: rollout rb-v2-rollback \(undoes rb-v2\)\n/,
    );
    expect(back.out).toMatch(/rb v1 rollback v2 -> v1 (running|completed): wave 0/);
    expect(back.out).toMatch(/rolled back: 3 node\(s\) run v1 again\n$/);
    // status shows the rollback's own rollout, its wave and its nodes, not v2's waves
    const s = json<StatusDoc>((await run(['status', 'rb', '--json'])).out);
    expect(s.version).toBe(1);
    expect(s.rollout).toMatchObject({
      id: 'rb-v2-rollback',
      kind: 'rollback',
      state: 'completed',
      version: 1,
      fromVersion: 2,
      rollsBack: 'rb-v2',
    });
    expect(s.rollout!.waves.map((w) => w.nodes)).toEqual([['web-1', 'web-2', 'web-3']]);
    expect(s.nodes.map((n) => [n.state, n.functions.attached])).toEqual([
      ['converged', 1],
      ['converged', 1],
      ['converged', 1],
    ]);
    const table = (await run(['status', 'rb'])).out;
    expect(table).toMatch(/^policy rb v1 {2}rollback v2 -> v1 rb-v2-rollback {2}completed/);
    // a second rollback: nothing newer, the versions named
    const second = await run(['rollback', 'rb']);
    expect(second.code).toBe(1);
    expect(second.err).toBe(
      'tramway rollback: policy rb runs v1 since rollback rb-v2-rollback undid v2 (rollout rb-v2): there is nothing newer to roll back to; apply a new version first\n',
    );
    // --no-wait answers at once with the rollout to follow
    const v3 = writePolicy('rb-v3.yaml', policyYaml('rb', ['tcp_close']));
    expect((await run(['apply', '-f', v3])).code).toBe(0);
    await statusWhen('rb', (st) => st.version === 3 && st.rollout?.state === 'completed');
    const noWait = await run(['rollback', 'rb', '--no-wait']);
    expect(noWait.out).toBe(
      'rolling rb back from v3 to v1: rollout rb-v3-rollback (undoes rb-v3)\nfollow it with: tramway status rb --watch\n',
    );
  });
});

describe('tramway policy', () => {
  it('lists, gets (a document that applies unchanged) and describes a policy', async () => {
    const file = writePolicy('pv.yaml', policyYaml('pv', ['tcp_v4_connect']));
    expect((await run(['apply', '-f', file])).code).toBe(0);
    await statusWhen('pv', (s) => s.rollout?.state === 'completed');

    const list = await run(['policy', 'list', '--json']);
    expect(list.code).toBe(0);
    const pv = json<{ name: string }[]>(list.out).find((p) => p.name === 'pv');
    expect(pv).toMatchObject({
      version: 1,
      state: 'active',
      appliedBy: 'token:admin',
      rollout: { id: 'pv-v1', kind: 'apply', state: 'completed' },
    });
    const table = (await run(['policy', 'list'])).out;
    expect(table).toMatch(/^NAME\s+VERSION\s+STATE\s+LATEST ROLLOUT\s+APPLIED\s+BY$/m);
    expect(table).toMatch(/^pv\s+v1\s+active\s+pv-v1 completed\s+\S+\s+token:admin$/m);

    const got = await run(['policy', 'get', 'pv']);
    expect(got.code).toBe(0);
    expect(got.out).toMatch(
      /^# pv v1, applied .* by token:admin\napiVersion: tramway.dev\/v1alpha1\n/,
    );
    writeFileSync(dir.file('pv-got.yaml'), got.out);
    expect((await run(['apply', '-f', 'pv-got.yaml'])).out).toMatch(/^unchanged: pv v1/);
    const gotJson = json((await run(['policy', 'get', 'pv', '-o', 'json'])).out);
    expect(gotJson).toMatchObject({
      kind: 'TracingPolicy',
      metadata: { name: 'pv' },
      spec: { targets: [{ pattern: 'tcp_v4_connect' }], strategy: 'auto' },
    });

    const described = await run(['policy', 'describe', 'pv']);
    expect(described.code).toBe(0);
    expect(described.out).toContain('Name:           pv\n');
    expect(described.out).toContain('State:          active\n');
    expect(described.out).toMatch(
      /Latest rollout: rollout pv-v1, completed \(started by token:admin/,
    );
    expect(described.out).toContain('Nodes:          3 (3 converged)\n');
    expect(described.out).toMatch(/v1 applied by token:admin: new policy applied by token:admin/);

    for (const verb of ['get', 'describe']) {
      const missing = await run(['policy', verb, 'no-such']);
      expect([missing.code, missing.err]).toEqual([
        1,
        `tramway policy ${verb}: no policy no-such\n`,
      ]);
    }
    expect((await run(['policy', 'get', 'pv', '-o', 'xml'])).code).toBe(2);
  });

  it('deletes after confirmation: deleting until every node released it, then gone; the log keeps it', async () => {
    const file = writePolicy('del.yaml', policyYaml('del', ['tcp_sendmsg', 'udp_sendmsg']));
    expect((await run(['apply', '-f', file])).code).toBe(0);
    await statusWhen('del', (s) => s.rollout?.state === 'completed');
    expect(Object.values(await heldLinks('del')).every((f) => f.length === 2)).toBe(true);

    // no terminal and no --yes: refused, nothing deleted
    const noTty = await run(['policy', 'delete', 'del']);
    expect(noTty.code).toBe(2);
    expect(noTty.err).toContain('pass --yes');
    // a person says no
    const questions: string[] = [];
    const declined = await run(['policy', 'delete', 'del'], {
      confirm: async (q) => {
        questions.push(q);
        return false;
      },
    });
    expect(declined.code).toBe(1);
    expect(questions).toEqual(['delete policy del v1? every node holding it releases its links']);
    expect((await allEvents()).some((e) => e.type === 'PolicyDeleted')).toBe(false);

    // a person says yes: the release is followed until every node released it
    const deleted = await run(
      ['policy', 'delete', 'del', '--reason', 'not needed', '--interval-ms', '50'],
      { confirm: async () => true },
    );
    expect(deleted.code, deleted.err).toBe(0);
    expect(deleted.out).toMatch(
      /^deleting del v1: 3 node\(s\) release it \(rollout del-v1-delete\)\n/,
    );
    expect(deleted.out).toMatch(/deleted: del released from 3 node\(s\)\n$/);
    expect(await heldLinks('del')).toEqual({ 'web-1': [], 'web-2': [], 'web-3': [] });
    const list = json<{ name: string }[]>((await run(['policy', 'list', '--json'])).out);
    expect(list.map((p) => p.name)).not.toContain('del');
    const s = json<StatusDoc>((await run(['status', 'del', '--json'])).out);
    expect(s).toMatchObject({ version: null, state: 'deleted' });
    expect(s.rollout).toMatchObject({ id: 'del-v1-delete', kind: 'release', state: 'completed' });
    // the log keeps it, with who deleted it and why
    const event = (await allEvents()).find((e) => e.type === 'PolicyDeleted')!;
    expect(event.data).toEqual({ name: 'del', version: 1, reason: 'not needed' });
    expect(event.metadata.actor).toBe('token:admin');
    // the audit at an earlier time still shows it, in force; at the deletion, deleting
    const db = join(fleet.dataDir, 'log.sqlite');
    const before = await run([
      'audit',
      'state',
      '--position',
      String(event.globalPosition - 1),
      '--db',
      db,
    ]);
    expect(before.code, before.err).toBe(0);
    expect(before.out).toMatch(/^del\s+1\s+active\s+/m);
    const at = await run([
      'audit',
      'state',
      '--position',
      String(event.globalPosition),
      '--db',
      db,
    ]);
    expect(at.out).toMatch(/^del\s+1\s+deleting \(by token:admin\)\s+/m);
    const now = await run(['audit', 'state', '--at', 'now', '--db', db]);
    expect(now.code, now.err).toBe(0);
    expect(now.out).toMatch(/^fleet at position \d+/);
    expect(now.out).not.toMatch(/^del\s/m);

    // deleting again, or an unknown policy: 404
    const again = await run(['policy', 'delete', 'del', '--yes', '--json']);
    expect(again.code).toBe(1);
    expect(json(again.out).error.code).toBe('NotFound');
    const unknown = await fetch(`${fleet.url}/v1/policies/never-was`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${fleet.adminToken}` },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/application\/problem\+json/);

    // the name applied again starts fresh at the next version
    const reapplied = await run(['apply', '-f', file, '--json']);
    expect(json(reapplied.out)).toMatchObject({ version: 2, unchanged: false });
    await statusWhen('del', (st) => st.version === 2 && st.rollout?.state === 'completed');
    expect(Object.values(await heldLinks('del')).every((f) => f.length === 2)).toBe(true);
  });

  it('shows a deleted policy as deleting while a node has not released it', async () => {
    const file = writePolicy('slow.yaml', policyYaml('slow', ['tcp_close']));
    expect((await run(['apply', '-f', file])).code).toBe(0);
    await statusWhen('slow', (s) => s.rollout?.state === 'completed');
    // web-3's agent stops: it cannot release anything (its links stay pinned)
    const web3 = fleet.agents.find((a) => a.nodeId === 'web-3')!;
    await web3.stop();
    const r = await run(['policy', 'delete', 'slow', '--yes', '--no-wait', '--json']);
    expect(r.code).toBe(0);
    expect(json(r.out)).toMatchObject({
      policy: 'slow',
      version: 1,
      state: 'deleting',
      rolloutId: 'slow-v1-delete',
      nodes: ['web-1', 'web-2', 'web-3'],
    });
    await statusWhen(
      'slow',
      (s) =>
        s.nodes.filter((n) => n.state === 'converged').length === 2 &&
        s.nodes.find((n) => n.nodeId === 'web-3')?.state !== 'converged',
    );
    const list = json<{ name: string; state: string }[]>(
      (await run(['policy', 'list', '--json'])).out,
    );
    expect(list.find((p) => p.name === 'slow')?.state).toBe('deleting');
    const described = (await run(['policy', 'describe', 'slow'])).out;
    expect(described).toMatch(/State: {10}deleting \(deleted by token:admin at /);
    expect(described).toMatch(/Latest rollout: delete \(release of v1\) slow-v1-delete, running/);
    // and a second delete answers the same release
    const again = await run(['policy', 'delete', 'slow', '--yes', '--no-wait', '--json']);
    expect(json(again.out)).toMatchObject({ rolloutId: 'slow-v1-delete', state: 'deleting' });
    // and applying the name again waits for the release
    const early = await run(['apply', '-f', file]);
    expect(early.code).toBe(1);
    expect(early.err).toContain('policy slow is being deleted (rollout slow-v1-delete is running)');
  });
});
