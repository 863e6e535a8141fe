/** The agent's state directory and the sim kernel spec file, on a real file system. */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createMemoryLogger } from '@tramway/shared/infra';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSimKernelFile } from '../../../services/agent/src/kernel/sim-kernel.loader.js';
import { DEFAULT_SIM_KERNEL } from '../../../services/agent/src/config.js';
import {
  AgentStateCorruptError,
  createFileStateStore,
  createMemoryStateStore,
  OUTBOX_TRIM_AFTER,
  rebootSimNode,
  STATE_JOURNAL_LIMIT,
} from '../../../services/agent/src/state/agent-state.store.js';
import type { PersistedAgentState } from '../../../services/agent/src/state/agent-state.store.js';
import type { HeldLink } from '../../../services/agent/src/reconcile/agent-policy.js';
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
    expect(again.readOutbox('boot-1').events.map((e) => e.id)).toEqual(['e1']);
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

describe('createFileStateStore: snapshot and journal', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir('tramway-agent-journal-');
  });
  afterEach(() => dir.remove());

  const link = (linkId: number, policyVersion = 1): HeldLink =>
    ({ linkId, programId: linkId + 100, policy: 'p', policyVersion }) as unknown as HeldLink;
  const state = (links: HeldLink[], observedGeneration = 1): PersistedAgentState => ({
    bootId: 'boot-1',
    assignment: null,
    observedGeneration,
    links,
    plans: [],
  });
  const snapshot = () => readFileSync(dir.file('agent-state.json'), 'utf8');
  const journalLines = () =>
    readFileSync(dir.file('agent-state.journal.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '');

  it('appends what changed to the journal instead of rewriting the snapshot; a new store replays it and compacts', () => {
    const sut = createFileStateStore(dir.path);
    const a = link(1);
    const b = link(2);
    sut.save(state([a]));
    const first = snapshot();
    sut.save(state([a, b], 2));
    sut.save(state([b], 2));
    sut.save(state([b], 2)); // nothing changed: nothing written
    expect(snapshot()).toBe(first);
    expect(journalLines().map((l) => JSON.parse(l) as unknown)).toEqual([
      { seq: 1, observedGeneration: 2, links: { put: [b], drop: [] } },
      { seq: 2, links: { put: [], drop: [1] } },
    ]);
    expect(createFileStateStore(dir.path).load()).toEqual(state([b], 2));
    expect(journalLines()).toEqual([]);
    expect(JSON.parse(snapshot())).toMatchObject({ links: [b], journalSeq: 2 });
  });

  it(`rewrites the snapshot after ${STATE_JOURNAL_LIMIT} journal entries`, () => {
    const sut = createFileStateStore(dir.path);
    sut.save(state([], 0));
    for (let g = 1; g <= STATE_JOURNAL_LIMIT; g++) sut.save(state([], g));
    expect(journalLines()).toHaveLength(STATE_JOURNAL_LIMIT);
    sut.save(state([link(1)], STATE_JOURNAL_LIMIT + 1));
    expect(journalLines()).toEqual([]);
    expect(createFileStateStore(dir.path).load()).toEqual(
      state([link(1)], STATE_JOURNAL_LIMIT + 1),
    );
  });

  it('replays a journal up to a torn last entry, with a warning', () => {
    const sut = createFileStateStore(dir.path);
    sut.save(state([]));
    sut.save(state([link(1)], 2));
    appendFileSync(dir.file('agent-state.journal.jsonl'), '{"seq":2,"links":{"put":[{"li');
    const logger = createMemoryLogger();
    expect(createFileStateStore(dir.path, logger).load()).toEqual(state([link(1)], 2));
    expect(logger.records.map((r) => [r.level, r.msg])).toEqual([
      ['warn', 'cut a torn last line (an interrupted append)'],
    ]);
  });

  it('does not apply again the entries a snapshot already holds (a crash before the journal was emptied)', () => {
    const sut = createFileStateStore(dir.path);
    sut.save(state([]));
    sut.save(state([link(1)], 2));
    const journal = readFileSync(dir.file('agent-state.journal.jsonl'));
    sut.save({ ...state([], 3), bootId: 'boot-2' }); // a new boot: snapshot, journal emptied
    writeFileSync(dir.file('agent-state.journal.jsonl'), journal);
    expect(createFileStateStore(dir.path).load()).toEqual({ ...state([], 3), bootId: 'boot-2' });
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

describe('createFileStateStore: the fact outbox trimmed once acknowledged', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir('tramway-agent-outbox-');
  });
  afterEach(() => dir.remove());

  const fact = (i: number, type = 'ProgramLoaded') => ({
    id: `n/boot-1/f${i}`,
    type,
    schemaVersion: 1,
    data: { pad: 'x'.repeat(200) },
    metadata: { occurredAt: '2026-01-01T00:00:00Z', actor: 'agent:n' },
  });

  for (const [store, ofStore] of [
    ['file', (d: TempDir) => createFileStateStore(d.path)],
    ['memory', () => createMemoryStateStore()],
  ] as const)
    it(`${store}: drops the bodies of acknowledged facts (keeping their ids and the last of each type), keeps the rest`, () => {
      const sut = ofStore(dir);
      sut.resetBoot('boot-1');
      const facts = [
        ...Array.from({ length: 600 }, (_, i) => fact(i)),
        fact(600, 'NodeReconciled'),
      ];
      sut.appendFacts(facts);
      const size = store === 'file' ? readFileSync(dir.file('facts-outbox.jsonl')).length : 0;
      // acked in several replies, as the coordinator answers batch by batch
      for (let i = 0; i < 500; i += 100) sut.ackFacts(facts.slice(i, i + 100).map((f) => f.id));
      sut.ackFacts([facts[600]!.id]);
      const read = (store === 'file' ? createFileStateStore(dir.path) : sut).readOutbox('boot-1');
      const pending = read.events.filter((e) => !read.acked.has(e.id)).map((e) => e.id);
      expect(pending).toEqual(facts.slice(500, 600).map((f) => f.id));
      // trimmed (once enough were acknowledged): ids and types only; every acknowledged fact
      // is either trimmed or marked acknowledged; the last NodeReconciled is kept whole
      expect(read.trimmed.length).toBeGreaterThanOrEqual(OUTBOX_TRIM_AFTER);
      expect(read.trimmed.length + read.events.filter((e) => read.acked.has(e.id)).length).toBe(
        501,
      );
      expect(read.trimmed[0]).toEqual([facts[0]!.id, 'ProgramLoaded']);
      expect(read.events.find((e) => e.type === 'NodeReconciled')?.id).toBe(facts[600]!.id);
      if (store === 'file')
        expect(readFileSync(dir.file('facts-outbox.jsonl')).length).toBeLessThan(size / 2);
    });
});
