/**
 * writeFunctionsJson (what `tramway kernel functions --json` prints) against the reference it
 * replaced for speed: `JSON.stringify(describeFunction(...))` per FUNC, one per line, UTF-8.
 * Byte-for-byte equality on the fixture (every kind, a module on top of vmlinux), on names that
 * need JSON escaping, and on the host's vmlinux when it is readable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BtfSpace, ParsedBtf } from '@tramway/shared/btf';
import {
  describeFunction,
  encodeBtf,
  listFuncs,
  parseBtf,
  writeFunctionsJson,
} from '@tramway/shared/btf';
import type { BtfType } from '@tramway/shared/kernel';
import {
  SMALL_VMLINUX_TYPES,
  smallModule,
  smallVmlinux,
} from '../../fixtures/btf/small-btf.fixture.js';

const reference = (spaces: readonly BtfSpace[]): string => {
  const all = spaces.flatMap((space) =>
    listFuncs(space).map(({ id, func }) => describeFunction(space, id, func)),
  );
  return all.length === 0 ? '[]\n' : `[\n${all.map((i) => JSON.stringify(i)).join(',\n')}\n]\n`;
};

const written = (spaces: readonly BtfSpace[]): { text: string; chunks: Uint8Array[] } => {
  const chunks: Uint8Array[] = [];
  writeFunctionsJson(spaces, (c) => chunks.push(c));
  return { text: Buffer.concat(chunks).toString('utf8'), chunks };
};

const parsed = (types: readonly BtfType[]): ParsedBtf => {
  const r = parseBtf(encodeBtf(smallVmlinux(types), { byteOrder: 'little' }), {
    name: 'vmlinux',
    kind: 'vmlinux',
  });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

describe('writeFunctionsJson', () => {
  it('writes what stringifying describeFunction gives, vmlinux then a split module', () => {
    const vmlinux = parsed(SMALL_VMLINUX_TYPES);
    const m = parseBtf(encodeBtf(smallModule(), { base: vmlinux }), {
      name: 'nf_tables',
      kind: 'module',
      base: vmlinux,
    });
    if (!m.ok) throw new Error(m.error.message);
    const spaces = [vmlinux, m.value];
    const { text } = written(spaces);
    expect(text).toBe(reference(spaces));
    expect(JSON.parse(text)).toHaveLength(listFuncs(vmlinux).length + listFuncs(m.value).length);
    expect(listFuncs(vmlinux).length).toBeGreaterThan(0);
  });

  it('writes [] for no function at all', () => {
    expect(written([]).text).toBe('[]\n');
    const noFuncs = parsed(SMALL_VMLINUX_TYPES.filter((t) => t.kind !== 'func'));
    expect(written([noFuncs]).text).toBe('[]\n');
  });

  it('escapes names as JSON.stringify does: quotes, backslashes, control and non-ASCII', () => {
    const types = SMALL_VMLINUX_TYPES.map((t) =>
      t.kind === 'func' ? { ...t, name: `f"\\\t\u00e9\u{1f600}${t.name}` } : t,
    );
    const space = parsed(types);
    const { text } = written([space]);
    expect(text).toBe(reference([space]));
    expect(JSON.parse(text)[0].name).toMatch(/^f"\\\t\u00e9\u{1f600}/u);
  });

  const VMLINUX = '/sys/kernel/btf/vmlinux';
  const hostReason = existsSync(VMLINUX) ? undefined : `${VMLINUX} does not exist on this host`;
  if (hostReason) process.stdout.write(`skipping the host vmlinux case: ${hostReason}\n`);
  it.skipIf(hostReason !== undefined)(
    "agrees with the reference on this host's vmlinux, in chunks of about 1 MB",
    () => {
      const r = parseBtf(readFileSync(VMLINUX), { name: 'vmlinux', kind: 'vmlinux' });
      if (!r.ok) throw new Error(r.error.message);
      const { text, chunks } = written([r.value]);
      expect(text).toBe(reference([r.value]));
      for (const c of chunks.slice(0, -1)) expect(c.length).toBeLessThanOrEqual(1 << 20);
      if (text.length > 2 << 20) expect(chunks.length).toBeGreaterThan(1);
    },
  );
});
