/**
 * scanBtf (the fast path of `tramway kernel functions --json`) against parseBtf: it takes only
 * blobs parseBtf accepts, decodes every record to the same type, and the listing written from
 * the scanned words is byte for byte the one written from the parsed types.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BtfSpace, ParsedBtf } from '@tramway/shared/btf';
import { encodeBtf, nextTypeId, parseBtf, scanBtf, writeFunctionsJson } from '@tramway/shared/btf';
import type { BtfType } from '@tramway/shared/kernel';
import { SMALL_VMLINUX_TYPES, smallVmlinux } from '../../fixtures/btf/small-btf.fixture.js';

const OPTIONS = { name: 'vmlinux', kind: 'vmlinux' } as const;

const json = (spaces: readonly BtfSpace[]): string => {
  const chunks: Uint8Array[] = [];
  writeFunctionsJson(spaces, (c) => chunks.push(c));
  return Buffer.concat(chunks).toString('utf8');
};

const both = (bytes: Uint8Array): { parsed: ParsedBtf; scanned: BtfSpace } => {
  const r = parseBtf(bytes, OPTIONS);
  if (!r.ok) throw new Error(r.error.message);
  const scanned = scanBtf(bytes, OPTIONS);
  if (!scanned) throw new Error('scanBtf refused a valid blob');
  return { parsed: r.value, scanned };
};

const expectSame = (parsed: ParsedBtf, scanned: NonNullable<ReturnType<typeof scanBtf>>): void => {
  expect(nextTypeId(scanned)).toBe(nextTypeId(parsed));
  for (let id = 1; id < nextTypeId(parsed); id++)
    expect(scanned.lookup(id)).toEqual(parsed.object.types[id - 1]);
  expect(scanned.lookup(0)).toBeUndefined();
  expect(scanned.lookup(nextTypeId(parsed))).toBeUndefined();
};

const encode = (types: readonly BtfType[]): Uint8Array =>
  encodeBtf(smallVmlinux(types), { byteOrder: 'little' });

describe('scanBtf', () => {
  it('decodes every record of the fixture (every kind) as parseBtf does', () => {
    const bytes = encode(SMALL_VMLINUX_TYPES);
    const r = parseBtf(bytes, OPTIONS);
    if (!r.ok) throw new Error(r.error.message);
    const scanned = scanBtf(bytes, OPTIONS);
    expect(scanned).toBeDefined();
    expectSame(r.value, scanned!);
  });

  it('lists the same bytes as the parsed types: escaped names, a FUNC without FUNC_PROTO', () => {
    const intId = SMALL_VMLINUX_TYPES.findIndex((t) => t.kind === 'int') + 1;
    const types = SMALL_VMLINUX_TYPES.map((t, i) =>
      t.kind === 'func'
        ? i % 2 === 0
          ? { ...t, name: `f"\\\t\u00e9\u{1f600}${t.name}` }
          : { ...t, type: intId }
        : t,
    );
    const { parsed, scanned } = both(encode(types));
    const text = json([scanned]);
    expect(text).toBe(json([parsed]));
    expect(text).toContain('is not a func_proto');
    expect(text).toContain('\\"\\\\\\t');
  });

  it('leaves big-endian blobs, and corrupt ones, to parseBtf', () => {
    const types = SMALL_VMLINUX_TYPES;
    expect(scanBtf(encodeBtf(smallVmlinux(types), { byteOrder: 'big' }), OPTIONS)).toBeUndefined();
    const bytes = encode(types);
    expect(scanBtf(bytes.subarray(0, bytes.length - 1), OPTIONS)).toBeUndefined();
    expect(scanBtf(bytes.subarray(0, 10), OPTIONS)).toBeUndefined();
  });

  it('takes no blob parseBtf refuses: every byte of the fixture changed, one at a time', () => {
    const bytes = encode(SMALL_VMLINUX_TYPES);
    let scannedCount = 0;
    let refused = 0;
    for (let i = 0; i < bytes.length; i++)
      for (const value of [0x00, 0xff, bytes[i]! ^ 0x10]) {
        const copy = bytes.slice();
        copy[i] = value;
        const scanned = scanBtf(copy, OPTIONS);
        const r = parseBtf(copy, OPTIONS);
        if (!r.ok) refused++;
        if (!scanned) continue;
        scannedCount++;
        expect(r.ok, `byte ${i} = ${value}`).toBe(true);
        if (r.ok) expectSame(r.value, scanned);
      }
    // the mutations reach both sides: some blobs are refused, some still scan
    expect(refused).toBeGreaterThan(0);
    expect(scannedCount).toBeGreaterThan(0);
  });

  const VMLINUX = '/sys/kernel/btf/vmlinux';
  const hostReason = existsSync(VMLINUX) ? undefined : `${VMLINUX} does not exist on this host`;
  if (hostReason) process.stdout.write(`skipping the host vmlinux case: ${hostReason}\n`);
  it.skipIf(hostReason !== undefined)("lists this host's vmlinux as the parsed types do", () => {
    const { parsed, scanned } = both(readFileSync(VMLINUX));
    expect(json([scanned])).toBe(json([parsed]));
  });
});
