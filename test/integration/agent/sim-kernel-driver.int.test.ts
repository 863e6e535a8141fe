/**
 * The sim kernel driver's read side (state, modules with their BTF object ids) and the sim
 * option of a node without tracing multi-link, from the spec file, the env override and an agent
 * on such a node. Real parts: the kernel model, the spec files on disk, the in-process bus.
 */
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBus } from '../../../shared/src/infra/index.js';
import type { FleetBus } from '../../../shared/src/infra/index.js';
import {
  createSimKernel,
  loadSimKernelFile,
} from '../../../services/agent/src/kernel/sim-kernel.loader.js';
import { DEFAULT_SIM_KERNEL } from '../../../services/agent/src/config.js';
import { openNodeKernel } from '../../../services/agent/src/kernel/node-kernel.factory.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';
import { assignmentOf, fakeCoordinator, simAgent, simSpec, tcpPolicy } from './agent-harness.js';

describe('sim kernel driver', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir('sim-driver-');
  });
  afterEach(() => dir.remove());

  it('lists each module with its BTF object id while loaded, and exposes the state it holds', async () => {
    const kernel = createSimKernel(simSpec('v26'));
    if (!kernel.ok) throw new Error(kernel.error.join('\n'));
    const { driver } = kernel.value;
    expect(await driver.modules()).toEqual([{ name: 'nf_tables', state: 'unloaded', btfObjId: 0 }]);
    const before = driver.state();

    const loaded = await driver.apply({ op: 'module_load', module: 'nf_tables' });

    expect(loaded.ok).toBe(true);
    const [module] = await driver.modules();
    expect(module).toMatchObject({ name: 'nf_tables', state: 'live' });
    expect(module!.btfObjId).toBeGreaterThan(1);
    expect(driver.state()?.modules.get('nf_tables')?.objId).toBe(module!.btfObjId);
    // the state is replaced by each accepted op, never mutated in place
    expect(before?.modules.get('nf_tables')?.objId ?? null).toBeNull();
    expect(kernel.value.state()).toBe(driver.state());
  });

  it('describes a node with multi-link by its model profile, and one without as probed none', async () => {
    const multi = createSimKernel(simSpec('v24'));
    const none = createSimKernel(simSpec('v24'), { multiLink: false });
    if (!multi.ok || !none.ok) throw new Error('spec refused');
    expect(await multi.value.driver.describe()).toMatchObject({
      mode: 'sim',
      profile: 'v24',
      probedProfile: 'v24',
      attachPath: 'tracing-multi',
    });
    expect(await none.value.driver.describe()).toMatchObject({
      mode: 'sim',
      profile: 'v24',
      probedProfile: 'none',
      attachPath: 'fentry-per-function',
      release: 'sim-v24-no-multi-link',
    });
  });

  it('reads multiLink from the spec file; SIM_MULTI_LINK overrides it', async () => {
    const file = dir.file('nomulti.yaml');
    writeFileSync(
      file,
      'profile: v26\nmultiLink: false\nobjects:\n  - name: vmlinux\n    kind: vmlinux\n    functions:\n      - { name: tcp_close, ret: void, params: [long] }\n',
    );
    const fromFile = loadSimKernelFile(file);
    const overridden = await openNodeKernel({
      kernel: 'sim',
      simKernel: file,
      simMultiLink: true,
      hostRoot: undefined,
    });
    const forcedOff = await openNodeKernel({
      kernel: 'sim',
      simKernel: DEFAULT_SIM_KERNEL,
      simMultiLink: false,
      hostRoot: undefined,
    });
    if (!fromFile.ok || !overridden.ok || !forcedOff.ok) throw new Error('spec refused');
    expect((await fromFile.value.driver.describe()).probedProfile).toBe('none');
    expect((await overridden.value.driver.describe()).probedProfile).toBe('v26');
    expect((await forcedOff.value.driver.describe()).attachPath).toBe('fentry-per-function');
  });

  it('names the field of a bad multiLink value', () => {
    const file = dir.file('bad.yaml');
    writeFileSync(
      file,
      "profile: v26\nmultiLink: 'no'\nobjects:\n  - name: vmlinux\n    kind: vmlinux\n    functions: []\n",
    );
    const sut = loadSimKernelFile(file);
    expect(sut.ok).toBe(false);
    if (sut.ok) return;
    expect(sut.error.some((p) => p.startsWith(`${file}: multiLink:`))).toBe(true);
  });
});

describe('agent on a sim node without tracing multi-link', () => {
  let bus: FleetBus;
  beforeEach(() => {
    bus = createInProcessBus();
  });
  afterEach(async () => {
    await bus.close();
  });

  it('registers profile none and attaches one fentry link per function', async () => {
    const coord = fakeCoordinator(bus);
    coord.latest.set(
      'node-3',
      assignmentOf('node-3', 1, [{ name: 'tcp-latency', version: 1, spec: tcpPolicy(['tcp_*']) }]),
    );
    const { agent } = simAgent({ nodeId: 'node-3', bus, spec: simSpec('v26'), multiLink: false });
    expect(await agent.start()).toBeUndefined();
    try {
      await waitUntil('converged', () => agent.observedGeneration() === 1);
      await waitUntil('two links', () => coord.ofType('LinkCreated').length === 2);
      expect(coord.ofType('NodeRegistered')[0]?.data).toMatchObject({ profile: 'none' });
      expect(coord.ofType('KernelProfileDetected')[0]?.data).toMatchObject({
        profile: 'none',
        attachPath: 'fentry-per-function',
      });
      const links = coord
        .ofType('LinkCreated')
        .map((e) => (e.data as { connections: { function: string }[] }).connections);
      expect(links.map((c) => c.map((x) => x.function))).toEqual([
        ['tcp_sendmsg'],
        ['tcp_recvmsg'],
      ]);
    } finally {
      coord.stop();
      await agent.stop();
    }
  });
});
