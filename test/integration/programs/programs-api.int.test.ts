/**
 * Program objects end to end in the embedded fleet (real SQLite log, real data dir, real HTTP):
 * push over the API and with `tramway program push`, list and inspect, the bytes back; roles and
 * refusals as problem+json; then policies naming an object: verified and attached by the sim
 * agents, or refused and recorded (LinkCreateFailed with the reason) when the object is missing.
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '@tramway/shared/lib';
import { programDigest } from '@tramway/shared/infra';
import type { EmbeddedFleet } from '../../../services/embedded/src/index.js';
import {
  DEFAULT_FLEET_FILE,
  loadFleetFile,
  startEmbeddedFleet,
} from '../../../services/embedded/src/index.js';
import type { CliIo } from '../../../services/cli/src/cli-command.js';
import { main } from '../../../services/cli/src/main.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';
import {
  EXAMPLE_OBJECTS_DIR,
  exampleObject,
  oneProgramObject,
} from '../../fixtures/programs/bpf-elf.fixture.js';

let dir: TempDir;
let fleet: EmbeddedFleet;
let admin: string;

const api = (
  path: string,
  init: { method?: string; body?: Uint8Array | string; type?: string; token?: string } = {},
): Promise<Response> =>
  fetch(`${fleet.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${init.token ?? admin}`,
      ...(init.type === undefined ? {} : { 'content-type': init.type }),
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });

const cli = async (argv: readonly string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    cwd: dir.path,
    env: { TRAMWAY_TTY: '0', TRAMWAY_URL: fleet.url, TRAMWAY_TOKEN: admin },
  };
  const code = await main(argv, io);
  return { code, out: out.join(''), err: err.join('') };
};

const events = async (type: string): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of fleet.coordinator.core.history.readAll()) if (e.type === type) out.push(e);
  return out;
};

const policy = (name: string, program: string, object: string, pattern = 'tcp_sendmsg') => ({
  apiVersion: 'tramway.dev/v1alpha1',
  kind: 'TracingPolicy',
  metadata: { name },
  spec: {
    program: { name: program, object, attach: 'fentry' },
    targets: [{ pattern, cookie: 7 }],
    rollout: { waves: ['100%'], pauseSeconds: 0 },
  },
});

beforeAll(async () => {
  dir = makeTempDir('tramway-programs-api-');
  const file = loadFleetFile(DEFAULT_FLEET_FILE);
  if (!file.ok) throw new Error(file.error.join('\n'));
  fleet = await startEmbeddedFleet({
    dataDir: dir.file('data'),
    port: 0,
    nodes: file.value.nodes,
    logFile: false,
    heartbeatMs: 200,
  });
  admin = fleet.adminToken!;
});
afterAll(async () => {
  await fleet?.stop();
  dir?.remove();
});

describe('the /v1/programs API', () => {
  it('stores pushed bytes under their digest (201, then 200), lists, inspects and serves them', async () => {
    const bytes = exampleObject('func_stats_multi');
    const digest = programDigest(bytes);
    const first = await api('/v1/programs', {
      method: 'PUT',
      body: bytes,
      type: 'application/octet-stream',
    });
    expect(first.status).toBe(201);
    const stored = (await first.json()) as { digest: string; programs: unknown[] };
    expect(stored).toMatchObject({
      digest,
      size: bytes.length,
      license: 'Dual BSD/GPL',
      hasBtf: true,
      hasBtfExt: true,
      created: true,
      programs: [
        { name: 'stats_entry', section: 'fentry.multi', attach: 'fentry.multi' },
        { name: 'stats_exit', section: 'fexit.multi', attach: 'fexit.multi' },
      ],
    });
    const again = await api('/v1/programs', {
      method: 'POST',
      body: bytes,
      type: 'application/octet-stream',
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ digest, created: false });

    // content addressed in the data dir
    const files = readdirSync(dir.file('data/programs'));
    expect(files).toContain(`${digest.replace(':', '-')}.bpf.o`);

    const info = await api(`/v1/programs/${digest}`);
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ digest, programs: stored.programs });

    const object = await api(`/v1/programs/${encodeURIComponent(digest)}/object`);
    expect(object.status).toBe(200);
    expect(object.headers.get('content-type')).toBe('application/octet-stream');
    expect(new Uint8Array(await object.arrayBuffer())).toEqual(bytes);
  });

  it('pages the list by digest with a cursor', async () => {
    for (const name of ['page_a', 'page_b', 'page_c'])
      await api('/v1/programs', {
        method: 'PUT',
        body: oneProgramObject(name),
        type: 'application/octet-stream',
      });
    const one = (await (await api('/v1/programs?limit=1')).json()) as {
      items: { digest: string }[];
      nextCursor: string | null;
    };
    expect(one.items).toHaveLength(1);
    expect(one.nextCursor).not.toBeNull();
    const rest = (await (
      await api(`/v1/programs?limit=1000&cursor=${one.nextCursor!}`)
    ).json()) as { items: { digest: string }[] };
    const all = [...one.items, ...rest.items].map((i) => i.digest);
    expect(all).toEqual([...all].sort());
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBeGreaterThanOrEqual(4);
  });

  it('refuses what is not a BPF object, JSON bodies, bad digests, unknown digests (problem+json)', async () => {
    const notElf = await api('/v1/programs', {
      method: 'PUT',
      body: new TextEncoder().encode('hello'),
      type: 'application/octet-stream',
    });
    expect(notElf.status).toBe(400);
    expect(notElf.headers.get('content-type')).toBe('application/problem+json');
    expect(await notElf.json()).toMatchObject({
      code: 'InvalidProgramObject',
      detail: expect.stringMatching(/^not a BPF object: .* \(at byte 0\)$/),
    });
    const json = await api('/v1/programs', {
      method: 'PUT',
      body: '{"object":"x"}',
      type: 'application/json',
    });
    expect(json.status).toBe(415);
    const empty = await api('/v1/programs', { method: 'PUT', type: 'application/octet-stream' });
    expect(empty.status).toBe(400);
    expect((await api('/v1/programs/sha256:nope')).status).toBe(400);
    const unknown = await api(`/v1/programs/sha256:${'0'.repeat(64)}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'NotFound' });
  });

  it('lets a viewer read but not push (operator and up)', async () => {
    const created = await api('/v1/tokens', {
      method: 'POST',
      body: JSON.stringify({ name: 'reader', role: 'viewer' }),
      type: 'application/json',
    });
    const { token } = (await created.json()) as { token: string };
    expect((await api('/v1/programs', { token })).status).toBe(200);
    const push = await api('/v1/programs', {
      method: 'PUT',
      body: exampleObject('lsm_deny'),
      type: 'application/octet-stream',
      token,
    });
    expect(push.status).toBe(403);
    expect(await push.json()).toMatchObject({ code: 'Forbidden', details: { needed: 'operator' } });
  });
});

describe('tramway program', () => {
  it('push prints the digest and the programs; list and inspect show them', async () => {
    const file = `${EXAMPLE_OBJECTS_DIR}lsm_deny.bpf.o`;
    const digest = programDigest(exampleObject('lsm_deny'));
    const pushed = await cli(['program', 'push', file]);
    expect(pushed.err).toBe('');
    expect(pushed.code).toBe(0);
    expect(pushed.out).toContain(digest);
    expect(pushed.out).toMatch(/deny_exec\s+fmod_ret\/security_bprm_check\s+fmod_ret/);

    const json = await cli(['program', 'push', file, '-o', 'json']);
    expect(JSON.parse(json.out)).toMatchObject({ digest, created: false });

    const listed = await cli(['program', 'list', '-o', 'json']);
    expect((JSON.parse(listed.out) as { digest: string }[]).map((o) => o.digest)).toContain(digest);
    const table = await cli(['program', 'list']);
    expect(table.out).toMatch(/deny_exec \(fmod_ret\)/);

    const inspected = await cli(['program', 'inspect', digest, '-o', 'wide']);
    expect(inspected.code).toBe(0);
    expect(inspected.out).toMatch(
      /deny_exec\s+fmod_ret\/security_bprm_check\s+fmod_ret\s+no\s+security_bprm_check\s+144/,
    );
  });

  it('refuses a file that is not a BPF object before sending it, and a malformed digest', async () => {
    const pushed = await cli(['program', 'push', `${EXAMPLE_OBJECTS_DIR}SHA256SUMS`]);
    expect(pushed.code).toBe(2);
    expect(pushed.err).toMatch(/SHA256SUMS: not a BPF object: no ELF magic/);
    const missing = await cli(['program', 'push', 'no-such.bpf.o']);
    expect(missing.code).toBe(2);
    const bad = await cli(['program', 'inspect', 'abc']);
    expect(bad.code).toBe(2);
    const unknown = await cli(['program', 'inspect', `sha256:${'1'.repeat(64)}`]);
    expect(unknown.code).toBe(1);
  });
});

describe('policies naming a program object', () => {
  it('attaches when the object is stored and holds the program (sim agents verify it)', async () => {
    const bytes = exampleObject('func_stats');
    const digest = programDigest(bytes);
    await api('/v1/programs', { method: 'PUT', body: bytes, type: 'application/octet-stream' });
    const applied = await api('/v1/policies', {
      method: 'POST',
      body: JSON.stringify({ policy: policy('stats-ok', 'stats_fentry', digest) }),
      type: 'application/json',
    });
    expect(applied.status).toBe(202);
    const created = await waitUntil(
      'LinkCreated of stats-ok on every node',
      async () => {
        const links = (await events('LinkCreated')).filter(
          (e) => (e.data as { policy?: string }).policy === 'stats-ok',
        );
        return links.length >= fleet.agents.length ? links : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(
      created.every((e) => (e.data as { programName: string }).programName === 'stats_fentry'),
    ).toBe(true);
  });

  it('refuses and records a policy whose object is not stored, or lacks the program', async () => {
    const missing = `sha256:${'ab'.repeat(32)}`;
    await api('/v1/policies', {
      method: 'POST',
      body: JSON.stringify({ policy: policy('stats-missing', 'stats_fentry', missing) }),
      type: 'application/json',
    });
    const stored = programDigest(exampleObject('func_stats'));
    await api('/v1/policies', {
      method: 'POST',
      body: JSON.stringify({ policy: policy('stats-noprog', 'not_there', stored, 'tcp_recvmsg') }),
      type: 'application/json',
    });
    const failed = await waitUntil(
      'LinkCreateFailed of both policies',
      async () => {
        const all = (await events('LinkCreateFailed')).map(
          (e) => e.data as { policy: string; errno: number; reason: string },
        );
        const a = all.filter((d) => d.policy === 'stats-missing');
        const b = all.filter((d) => d.policy === 'stats-noprog');
        return a.length > 0 && b.length > 0 ? { a, b } : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(failed.a[0]).toMatchObject({
      errno: 2,
      reason: `program object refused: program object ${missing} is not stored`,
    });
    expect(failed.b[0]).toMatchObject({
      errno: 2,
      reason: expect.stringContaining(
        'holds no program not_there (it holds: stats_fentry, stats_fexit)',
      ),
    });
    // nothing was attached for them
    const links = (await events('LinkCreated')).filter((e) =>
      ['stats-missing', 'stats-noprog'].includes((e.data as { policy?: string }).policy ?? ''),
    );
    expect(links).toEqual([]);
    expect(existsSync(dir.file('data/programs'))).toBe(true);
  });
});
