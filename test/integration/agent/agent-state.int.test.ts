/** The agent's state directory and the sim kernel spec file, on a real file system. */
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSimKernelFile } from '../../../services/agent/src/kernel/sim-kernel.loader.js';
import { DEFAULT_SIM_KERNEL } from '../../../services/agent/src/config.js';
import {
  AgentStateCorruptError,
  createFileStateStore,
  rebootSimNode,
} from '../../../services/agent/src/state/agent-state.store.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';

describe('createFileStateStore', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir('tramway-agent-state-');
  });
  afterEach(() => dir.remove());

  it('keeps the op log and the fact outbox of one boot only, and a sim boot id until a reboot', () => {
    const sut = createFileStateStore(dir.path);
    const boot = sut.simBootId(() => 'boot-1');
    expect(sut.simBootId(() => 'never')).toBe('boot-1');
    sut.resetBoot(boot);
    sut.appendOp({
      op: 'link_create',
      prog: 1,
      targets: [{ name: 'f' }],
      cookies: [2n ** 64n - 1n],
    });
    sut.appendFacts([
      {
        id: 'e1',
        type: 'NodeBooted',
        schemaVersion: 1,
        data: {},
        metadata: { occurredAt: '2026-01-01T00:00:00Z', actor: 'agent:n' },
      },
    ]);
    const again = createFileStateStore(dir.path);
    expect(again.readOps('boot-1')).toEqual([
      { op: 'link_create', prog: 1, targets: [{ name: 'f' }], cookies: [2n ** 64n - 1n] },
    ]);
    expect(again.readFacts('boot-1').map((e) => e.id)).toEqual(['e1']);
    expect(again.readOps('boot-2')).toEqual([]);
    rebootSimNode(dir.path);
    expect(again.simBootId(() => 'boot-2')).toBe('boot-2');
    expect(again.readOps('boot-1')).toEqual([]);
  });

  it('names the file when its saved state is unreadable, rather than guessing', () => {
    writeFileSync(dir.file('agent-state.json'), '{"bootId": 3');
    expect(() => createFileStateStore(dir.path).load()).toThrow(AgentStateCorruptError);
    expect(() => createFileStateStore(dir.path).load()).toThrow(/agent-state\.json is unreadable/);
  });
});

describe('loadSimKernelFile', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir('tramway-sim-spec-');
  });
  afterEach(() => dir.remove());

  it('loads the bundled default spec: v24, nf_tables declared but not loaded', async () => {
    const sut = loadSimKernelFile(DEFAULT_SIM_KERNEL);
    expect(sut.ok).toBe(true);
    if (!sut.ok) return;
    expect((await sut.value.driver.dump()).modules).toEqual([
      { name: 'nf_tables', state: 'unloaded', refcount: 0 },
    ]);
    expect(sut.value.driver.state()?.profile).toBe('v24');
  });

  it('lists every problem with the file and the field path', () => {
    const file = dir.file('bad.yaml');
    writeFileSync(
      file,
      'profile: v25\nobjects:\n  - name: vmlinux\n    kind: vmlinux\n    functions:\n      - { name: f, params: [] }\n',
    );
    const sut = loadSimKernelFile(file);
    expect(sut.ok).toBe(false);
    expect(!sut.ok && sut.error).toEqual([
      `${file}: profile: must be one of v24, v26, got 'v25'`,
      `${file}: objects[0].functions[0].ret: required field is missing`,
    ]);
    expect(loadSimKernelFile(dir.file('missing.yaml'))).toMatchObject({
      ok: false,
      error: [expect.stringContaining('missing.yaml: cannot read') as string],
    });
  });

  it('passes on the kernel model’s own problems (unknown types) with their paths', () => {
    const file = dir.file('types.json');
    writeFileSync(
      file,
      JSON.stringify({
        profile: 'v26',
        objects: [
          {
            name: 'vmlinux',
            kind: 'vmlinux',
            functions: [{ name: 'f', ret: 'struct nope', params: [] }],
          },
        ],
      }),
    );
    const sut = loadSimKernelFile(file);
    expect(!sut.ok && sut.error[0]).toMatch(
      new RegExp(`^${file}: objects\\[0\\]\\.functions\\[0\\]`),
    );
  });
});
