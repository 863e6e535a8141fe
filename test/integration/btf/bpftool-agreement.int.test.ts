import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ParsedBtf } from '../../../shared/src/btf/index.js';
import { formatCType, parseBtf } from '../../../shared/src/btf/index.js';
import type { BtfType } from '../../../shared/src/kernel/index.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const hasBpftool = spawnSync('bpftool', ['version'], { stdio: 'ignore' }).status === 0;
const hasVmlinux = existsSync(VMLINUX);
const skipReason = !hasBpftool
  ? 'bpftool is not installed (apt-get install -y bpftool)'
  : !hasVmlinux
    ? `${VMLINUX} does not exist on this machine`
    : undefined;
if (skipReason) console.warn(`skipping the bpftool agreement test: ${skipReason}`);

/** What `bpftool btf dump format raw` says about one type: kind, name, and FUNC/FUNC_PROTO details. */
interface RawRecord {
  readonly id: number;
  readonly kind: string;
  readonly name: string;
  readonly fields: string;
  readonly members: string[];
}

const parseRawDump = (text: string): Map<number, RawRecord> => {
  const records = new Map<number, RawRecord>();
  let current: RawRecord | undefined;
  for (const line of text.split('\n')) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (head) {
      current = {
        id: Number(head[1]),
        kind: head[2]!,
        name: head[3]!,
        fields: head[4]!.trim(),
        members: [],
      };
      records.set(current.id, current);
    } else if (line.startsWith('\t') && current) current.members.push(line.trim());
  }
  return records;
};

const RAW_KIND: Record<BtfType['kind'], string> = {
  int: 'INT',
  ptr: 'PTR',
  array: 'ARRAY',
  struct: 'STRUCT',
  union: 'UNION',
  enum: 'ENUM',
  fwd: 'FWD',
  typedef: 'TYPEDEF',
  volatile: 'VOLATILE',
  const: 'CONST',
  restrict: 'RESTRICT',
  func: 'FUNC',
  func_proto: 'FUNC_PROTO',
  var: 'VAR',
  datasec: 'DATASEC',
  float: 'FLOAT',
  decl_tag: 'DECL_TAG',
  type_tag: 'TYPE_TAG',
  enum64: 'ENUM64',
};

const anon = (name: string): string => (name === '' ? '(anon)' : name);

describe.skipIf(skipReason !== undefined)(
  'parseBtf agrees with bpftool on the host vmlinux BTF',
  () => {
    // the describe body runs even when skipped (vitest collects its tests), so bpftool runs in a
    // hook, which only runs when a test does
    let raw: Map<number, RawRecord>;
    let btf: ParsedBtf;
    let types: ParsedBtf['object']['types'];
    beforeAll(() => {
      raw = parseRawDump(
        execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'raw'], {
          encoding: 'utf8',
          maxBuffer: 256 * 1024 * 1024,
        }),
      );
      const parsed = parseBtf(readFileSync(VMLINUX), { name: 'vmlinux', kind: 'vmlinux' });
      if (!parsed.ok) throw new Error(parsed.error.message);
      btf = parsed.value;
      types = btf.object.types;
    });

    it('has the same ids, kinds and names for every type', () => {
      expect(types.length).toBe(raw.size);
      const mismatches: string[] = [];
      types.forEach((t, i) => {
        const r = raw.get(i + 1);
        const name = 'name' in t ? t.name : '';
        if (!r || r.kind !== RAW_KIND[t.kind] || r.name !== anon(name))
          mismatches.push(
            `[${i + 1}] ours ${RAW_KIND[t.kind]} '${anon(name)}', bpftool ${r?.kind} '${r?.name}'`,
          );
      });
      expect(mismatches.slice(0, 10)).toEqual([]);
    });

    it('has the same functions: names, ids, linkage, prototype, parameter count, names and types', () => {
      const ours: string[] = [];
      const theirs: string[] = [];
      types.forEach((t, i) => {
        if (t.kind !== 'func') return;
        const proto = types[t.type - 1];
        if (!proto || proto.kind !== 'func_proto') {
          ours.push(`[${i + 1}] ${t.name} has no func_proto`);
          return;
        }
        ours.push(
          [
            `[${i + 1}] ${t.name} type_id=${t.type} linkage=${t.linkage}`,
            `ret_type_id=${proto.ret} vlen=${proto.params.length}`,
            ...proto.params.map((p) => `'${anon(p.name)}' type_id=${p.type}`),
          ].join(' | '),
        );
      });
      for (const r of raw.values()) {
        if (r.kind !== 'FUNC') continue;
        const m = /^type_id=(\d+) linkage=(\w+)$/.exec(r.fields);
        const proto = m ? raw.get(Number(m[1])) : undefined;
        const pm = proto ? /^ret_type_id=(\d+) vlen=(\d+)$/.exec(proto.fields) : null;
        theirs.push(
          [
            `[${r.id}] ${r.name} ${r.fields}`,
            pm ? `ret_type_id=${pm[1]} vlen=${pm[2]}` : `unparsed ${proto?.fields}`,
            ...(proto?.members ?? []),
          ].join(' | '),
        );
      }
      expect(ours.length).toBeGreaterThan(1000);
      expect(ours.length).toBe(theirs.length);
      const differing = ours.filter((line, i) => line !== theirs[i]);
      expect(differing.slice(0, 10)).toEqual([]);
    });

    it('decodes INT encodings, struct sizes and enum values as bpftool prints them', () => {
      const differing: string[] = [];
      types.forEach((t, i) => {
        const r = raw.get(i + 1)!;
        let expected: string | undefined;
        if (t.kind === 'int')
          expected = `size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${t.bool ? 'BOOL' : t.signed ? 'SIGNED' : t.char ? 'CHAR' : '(none)'}`;
        else if (t.kind === 'struct' || t.kind === 'union')
          expected = `size=${t.size} vlen=${t.members.length}`;
        else if (t.kind === 'enum')
          expected = `encoding=${t.kindFlag ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`;
        if (expected !== undefined && r.fields !== expected)
          differing.push(`[${i + 1}] ours '${expected}' bpftool '${r.fields}'`);
        if (t.kind === 'enum') {
          const ourValues = t.values.map((v) => `'${v.name}' val=${v.value}`);
          if (ourValues.join() !== r.members.join())
            differing.push(`[${i + 1}] enum values differ`);
        }
      });
      expect(differing.slice(0, 10)).toEqual([]);
    });

    it('spells types as C the way bpftool does: every typedef of `format c` (pointers, const, arrays, function pointers)', () => {
      const dump = execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c'], {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      const theirs = new Map<string, string>();
      for (const line of dump.split('\n')) {
        const m =
          /^typedef .*\(\*(\w+)\)\(.*\);$|^typedef .*?(\w+)\(.*\);$|^typedef .*?(\w+)(?:\[\d+\])?;$/.exec(
            line,
          );
        if (m) theirs.set(m[1] ?? m[2] ?? m[3]!, line);
      }
      const names = new Map<string, number>();
      for (const t of types)
        if (t.kind === 'typedef') names.set(t.name, (names.get(t.name) ?? 0) + 1);
      let agreed = 0;
      const differing: string[] = [];
      for (const t of types) {
        if (t.kind !== 'typedef') continue;
        const ours = `typedef ${formatCType(btf, t.type, t.name)};`;
        if (ours.includes('{...}')) continue; // anonymous struct bodies: bpftool prints them in full
        const their = theirs.get(t.name);
        if (their === ours) agreed++;
        // bpftool renames clashing types (name___2), prints a twice-defined typedef once, skips builtins
        else if (their === undefined || their.includes('___') || names.get(t.name)! > 1) continue;
        else differing.push(`ours '${ours}' bpftool '${their}'`);
      }
      expect(agreed).toBeGreaterThan(1000);
      expect(differing.slice(0, 10)).toEqual([]);
    });
  },
);
