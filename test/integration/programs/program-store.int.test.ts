/**
 * The ProgramStore port's one contract, run against both adapters: files under a data dir
 * (embedded) and a JetStream Object Store bucket on a real nats-server (loopback, free port).
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ProgramStore } from '../../../shared/src/infra/programs/index.js';
import {
  openFileProgramStore,
  openNatsProgramStore,
  programDigest,
  verifyProgramObject,
} from '../../../shared/src/infra/programs/index.js';
import { startNatsServer } from '../../support/nats-server.js';
import type { NatsServerHandle } from '../../support/nats-server.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { exampleObject, oneProgramObject } from '../../fixtures/programs/bpf-elf.fixture.js';

const T0 = new Date('2026-12-02T10:00:00.000Z');
const T1 = new Date('2026-12-02T11:00:00.000Z');

const contract = (name: string, open: () => Promise<ProgramStore>): void => {
  describe(`ProgramStore contract: ${name}`, () => {
    it('stores an object under its sha256 and answers its programs', async () => {
      const store = await open();
      const bytes = exampleObject('func_stats_multi');
      const put = await store.put(bytes, T0);
      expect(put.ok).toBe(true);
      if (!put.ok) return;
      expect(put.value.digest).toBe(programDigest(bytes));
      expect(put.value.created).toBe(true);
      expect(put.value.size).toBe(bytes.length);
      expect(put.value.storedAt).toBe(T0.toISOString());
      expect(put.value.programs.map((p) => [p.name, p.section, p.attach])).toEqual([
        ['stats_entry', 'fentry.multi', 'fentry.multi'],
        ['stats_exit', 'fexit.multi', 'fexit.multi'],
      ]);
      expect(await store.get(put.value.digest)).toEqual(bytes);
      const { created: _c, ...summary } = put.value;
      expect(await store.info(put.value.digest)).toEqual(summary);
    });

    it('is idempotent: the same bytes again are not stored twice and keep their first time', async () => {
      const store = await open();
      const bytes = oneProgramObject('again_prog');
      const first = await store.put(bytes, T0);
      const second = await store.put(bytes, T1);
      expect(second).toEqual({ ok: true, value: { ...(first.ok && first.value), created: false } });
      expect((await store.list()).filter((o) => o.digest === programDigest(bytes))).toHaveLength(1);
    });

    it('refuses what is not a BPF object, or too large, and stores nothing', async () => {
      const store = await open();
      const before = await store.list();
      const text = new TextEncoder().encode('#!/bin/sh\necho not an object\n');
      const notElf = await store.put(text, T0);
      expect(notElf).toEqual({
        ok: false,
        error: {
          code: 'NotBpfObject',
          message: expect.stringMatching(/^not a BPF object: .* \(at byte \d+\)$/),
        },
      });
      expect(await store.list()).toEqual(before);
      expect(await store.get(programDigest(text))).toBeUndefined();
    });

    it('lists by digest; an unknown or malformed digest is simply not there', async () => {
      const store = await open();
      const a = await store.put(oneProgramObject('list_a'), T0);
      const b = await store.put(oneProgramObject('list_b'), T0);
      const listed = (await store.list()).map((o) => o.digest);
      expect(listed).toEqual([...listed].sort());
      expect(listed).toEqual(
        expect.arrayContaining([a.ok && a.value.digest, b.ok && b.value.digest]),
      );
      expect(await store.info(`sha256:${'0'.repeat(64)}`)).toBeUndefined();
      expect(await store.get('sha256:../../etc/passwd')).toBeUndefined();
      expect(await store.info('nonsense')).toBeUndefined();
    });

    it('gives back bytes that verify against their digest and the program named', async () => {
      const store = await open();
      const put = await store.put(exampleObject('lsm_deny'), T0);
      if (!put.ok) throw new Error(put.error.message);
      const bytes = await store.get(put.value.digest);
      const verified = verifyProgramObject(put.value.digest, 'deny_exec', bytes);
      expect(verified.ok && verified.value.program).toMatchObject({
        name: 'deny_exec',
        attach: 'fmod_ret',
        target: 'security_bprm_check',
      });
    });
  });
};

describe('program stores', () => {
  let dir: TempDir;
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let n = 0;
  beforeAll(async () => {
    dir = makeTempDir('tramway-programs-');
    server = await startNatsServer({ secure: false });
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
    dir?.remove();
  });

  contract('files under the data dir', () =>
    Promise.resolve(openFileProgramStore(dir.file(`store-${++n}`), { maxBytes: 64 << 10 })),
  );
  contract('JetStream Object Store', () =>
    openNatsProgramStore(nc, { bucket: `programs-${++n}`, maxBytes: 64 << 10 }),
  );

  it('file store: one object file and one summary per digest, no temp file left', async () => {
    const path = dir.file('layout');
    const store = openFileProgramStore(path);
    const bytes = exampleObject('func_stats');
    const put = await store.put(bytes, T0);
    const hex = programDigest(bytes).slice('sha256:'.length);
    expect(put.ok).toBe(true);
    expect(readdirSync(path).sort()).toEqual([`sha256-${hex}.bpf.o`, `sha256-${hex}.json`]);
    expect(statSync(`${path}/sha256-${hex}.bpf.o`).size).toBe(bytes.length);
  });

  it('file store: a changed object file is served as is and fails verification', async () => {
    const path = dir.file('tamper');
    const store = openFileProgramStore(path);
    const bytes = exampleObject('func_stats');
    const put = await store.put(bytes, T0);
    if (!put.ok) throw new Error(put.error.message);
    const hex = put.value.digest.slice('sha256:'.length);
    const changed = bytes.slice();
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 0xff;
    writeFileSync(`${path}/sha256-${hex}.bpf.o`, changed);
    const verified = verifyProgramObject(
      put.value.digest,
      'stats_fentry',
      await store.get(put.value.digest),
    );
    expect(verified).toEqual({
      ok: false,
      error: {
        kind: 'mismatch',
        message: expect.stringContaining(`have digest ${programDigest(changed)}`),
      },
    });
  });

  it('file store: refuses an object over its bound', async () => {
    const store = openFileProgramStore(dir.file('small'), { maxBytes: 1000 });
    const put = await store.put(exampleObject('func_stats'), T0);
    expect(put).toEqual({
      ok: false,
      error: { code: 'TooLarge', message: expect.stringMatching(/more than the 1000 accepted/) },
    });
  });
});
