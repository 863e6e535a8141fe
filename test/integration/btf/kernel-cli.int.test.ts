import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBtf, parseBtf } from '../../../shared/src/btf/index.js';
import type { CliIo } from '../../../services/cli/src/cli-command.js';
import { main } from '../../../services/cli/src/main.js';
import { smallModule, smallVmlinux } from '../../fixtures/btf/small-btf.fixture.js';

let dir: string;

const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    cwd: dir,
    env: {},
  };
  const code = await main(argv, io);
  return { code, out, err };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tramway-cli-btf-'));
  const vmlinux = encodeBtf(smallVmlinux());
  const base = parseBtf(vmlinux, { name: 'vmlinux', kind: 'vmlinux' });
  if (!base.ok) throw new Error(base.error.message);
  await writeFile(join(dir, 'vmlinux'), vmlinux);
  await writeFile(join(dir, 'nf_tables'), encodeBtf(smallModule(), { base: base.value }));
  await writeFile(join(dir, 'truncated.btf'), vmlinux.subarray(0, 100));
  const root = join(dir, 'root');
  await mkdir(join(root, 'sys/kernel/btf'), { recursive: true });
  await mkdir(join(root, 'proc/sys/kernel'), { recursive: true });
  await writeFile(join(root, 'sys/kernel/btf/vmlinux'), vmlinux);
  await writeFile(
    join(root, 'sys/kernel/btf/nf_tables'),
    encodeBtf(smallModule(), { base: base.value }),
  );
  await writeFile(join(root, 'proc/sys/kernel/osrelease'), '7.2.0-fixture\n');
  await writeFile(
    join(root, 'proc/kallsyms'),
    [
      'ffffffff81000000 T tcp_v4_rcv',
      'ffffffff81000100 T bpf_trampoline_link_prog',
      'ffffffff81000200 T register_ftrace_direct',
      'ffffffffc0001000 t nft_do_chain\t[nf_tables]',
    ].join('\n'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tramway kernel functions', () => {
  it('prints every FUNC of a saved blob as JSON with C types', async () => {
    const { code, out } = await run('kernel', 'functions', '--btf', 'vmlinux', '--json');
    expect(code).toBe(0);
    const list = JSON.parse(out) as { name: string }[];
    expect(list.map((f) => f.name)).toEqual([
      'tcp_v4_rcv',
      '_printk',
      'skb_weird',
      'bpf_kprobe_multi_link_attach',
    ]);
    expect(list[0]).toEqual({
      name: 'tcp_v4_rcv',
      object: 'vmlinux',
      btfId: 19,
      linkage: 'global',
      ret: 'int',
      params: [
        { name: 'skb', type: 'struct sk_buff *' },
        { name: 'len', type: 'u32' },
      ],
    });
  });

  it('reads a module blob on top of --base', async () => {
    const { code, out } = await run(
      'kernel',
      'functions',
      '--btf',
      'nf_tables',
      '--base',
      'vmlinux',
    );
    expect(code).toBe(0);
    expect(out).toBe(
      'nf_tables\t41\tglobal\tint nft_do_chain(struct nft_ctx *ctx, u32 len)\n' +
        'nf_tables\t42\tstatic\tint tcp_v4_rcv(struct sk_buff *skb, u32 len)\n',
    );
  });

  it('exits 2 naming the file and the byte offset of a truncated blob', async () => {
    const { code, out, err } = await run('kernel', 'functions', '--btf', 'truncated.btf');
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/^truncated\.btf: not valid BTF: .*at byte \d+\)\n$/);
  });

  it('exits 2 for a missing file without a stack trace', async () => {
    const { code, err } = await run('kernel', 'functions', '--btf', 'nope.btf');
    expect(code).toBe(2);
    expect(err).toBe('nope.btf: cannot read: no such file\n');
  });

  it('refuses --base without --btf as bad usage', async () => {
    const { code, err } = await run('kernel', 'functions', '--base', 'vmlinux');
    expect(code).toBe(2);
    expect(err).toContain('--base needs --btf');
  });

  it('lists vmlinux and module functions of a host root', async () => {
    const { code, out } = await run('kernel', 'functions', '--root', 'root', '--json');
    expect(code).toBe(0);
    const list = JSON.parse(out) as { name: string; object: string }[];
    expect(list.filter((f) => f.object === 'nf_tables').map((f) => f.name)).toEqual([
      'nft_do_chain',
      'tcp_v4_rcv',
    ]);
  });
});

describe('tramway kernel probe', () => {
  it('reports release, BTF objects, profile, path and what it could not read', async () => {
    const { code, out } = await run('kernel', 'probe', '--root', 'root', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(out) as Record<string, unknown>;
    expect(report).toMatchObject({
      release: '7.2.0-fixture',
      btf: [
        { name: 'vmlinux', kind: 'vmlinux', firstTypeId: 1, types: 37, functions: 4 },
        { name: 'nf_tables', kind: 'module', firstTypeId: 38, types: 5, functions: 2 },
      ],
      profile: 'v26',
      path: 'tracing-multi',
      symbolSource: 'kallsyms',
      kallsyms: { symbols: 4, addressesHidden: false },
    });
    const sources = (report.unreadable as { source: string }[]).map((u) => u.source).sort();
    expect(sources).toEqual(['boot-id', 'error-injection', 'modules', 'traceable-functions']);
  });

  it('prints a readable summary and exits 1 when no vmlinux BTF is readable', async () => {
    await mkdir(join(dir, 'empty'), { recursive: true });
    const { code, out } = await run('kernel', 'probe', '--root', 'empty');
    expect(code).toBe(1);
    expect(out).toContain('btf objects      (none readable)');
    expect(out).toContain('could not read:');
  });
});

describe('tramway kernel resolve', () => {
  it('checks every match on a host root with its symbols (no kallsyms entry = ENOENT)', async () => {
    const { code, out } = await run(
      'kernel',
      'resolve',
      '*',
      '--attach',
      'fentry.multi',
      '--root',
      'root',
      '--json',
    );
    expect(code).toBe(1);
    const report = JSON.parse(out) as {
      profile: string;
      targets: { object: string; name: string; ok: boolean; errno?: string }[];
      summary: Record<string, number>;
    };
    expect(report.profile).toBe('v26');
    expect(report.targets.map((t) => `${t.object}:${t.name} ${t.ok ? 'ok' : t.errno}`)).toEqual([
      'vmlinux:tcp_v4_rcv ok',
      'vmlinux:_printk EINVAL',
      'vmlinux:skb_weird ENOENT',
      'vmlinux:bpf_kprobe_multi_link_attach ENOENT',
      'nf_tables:nft_do_chain ok',
      'nf_tables:tcp_v4_rcv ENOENT',
    ]);
    expect(report.summary).toEqual({ matched: 6, attachable: 2, refused: 4, unmatchedPatterns: 0 });
  });

  it('exits 0 when every match of a saved blob is attachable, and prints a summary', async () => {
    const { code, out } = await run(
      'kernel',
      'resolve',
      'tcp_*',
      '--attach',
      'fentry',
      '--reads',
      '0,1',
      '--btf',
      'vmlinux',
    );
    expect(code).toBe(0);
    expect(out).toContain('ok         vmlinux:tcp_v4_rcv [19]\n');
    expect(out).toContain('1 matched, 1 attachable, 0 refused, 0 pattern(s) unmatched\n');
  });

  it('uses the requested profile and origin (v24 prototype match on read args)', async () => {
    const { code, out } = await run(
      'kernel',
      'resolve',
      'nf_tables:*',
      '--attach',
      'fentry.multi',
      '--profile',
      'v24',
      '--origin',
      'tcp_v4_rcv',
      '--reads',
      '0',
      '--btf',
      'nf_tables',
      '--base',
      'vmlinux',
    );
    expect(code).toBe(1);
    expect(out).toContain('load against vmlinux (origin tcp_v4_rcv): ok');
    expect(out).toMatch(
      /EINVAL {5}nf_tables:nft_do_chain \[41\]: .*does not match origin tcp_v4_rcv/,
    );
    expect(out).toContain('ok         nf_tables:tcp_v4_rcv [42]');
  });

  it.each([
    [['tcp_*'], '--attach is required'],
    [['tcp_*', '--attach', 'kprobe'], "--attach 'kprobe'"],
    [['--attach', 'fentry'], "missing required argument 'pattern'"],
    [['tcp_[', '--attach', 'fentry'], "unclosed '['"],
    [['tcp_*', '--attach', 'fentry', '--reads', '0,x'], "--reads: 'x'"],
  ])('rejects bad usage %j with exit 2', async (argv, message) => {
    const { code, err } = await run('kernel', 'resolve', ...argv);
    expect(code).toBe(2);
    expect(err).toContain(message);
  });
});

describe('tramway kernel functions on a split blob without --base', () => {
  it('exits 2 and suggests --base', async () => {
    const { code, err } = await run('kernel', 'functions', '--btf', 'nf_tables');
    expect(code).toBe(2);
    expect(err).toMatch(
      /^nf_tables: not valid BTF: .*at byte \d+\) \(a module's split BTF\? pass its vmlinux with --base\)\n$/,
    );
  });
});
