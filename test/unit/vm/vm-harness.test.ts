/**
 * The VM tier's host-side pieces that need no VM: the bzImage payload extraction (boot protocol
 * header, zstd and xz magic) and the serial log's marker lines (test/vm/).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../../support/temp-dir.js';
import { extractVmlinux, KernelUnavailableError } from '../../vm/kernels.js';
import { parseSerialLog } from '../../vm/vm.js';

const has = (tool: string) => spawnSync(tool, ['--version']).status === 0;

/** an ELF-looking payload with a .BTF section name, the way a vmlinux carries one */
const fakeElf = (): Buffer =>
  Buffer.concat([Buffer.from('\x7fELF', 'latin1'), Buffer.alloc(100, 1), Buffer.from('.BTF\0')]);

/** a bzImage: setup sectors, HdrS header, payload_offset/length pointing at `payload` */
const bzImage = (payload: Buffer, setupSects = 3, payloadOffset = 0x40): Buffer => {
  const start = (setupSects + 1) * 512;
  const img = Buffer.alloc(start + payloadOffset + payload.length + 4);
  img[0x1f1] = setupSects;
  img.write('HdrS', 0x202, 'latin1');
  img.writeUInt32LE(payloadOffset, 0x248);
  img.writeUInt32LE(payload.length, 0x24c);
  payload.copy(img, start + payloadOffset);
  return img;
};

const compress = (tool: string, data: Buffer): Buffer => {
  const r = spawnSync(tool, ['-c', '-q'], { input: data });
  if (r.status !== 0) throw new Error(`${tool} failed`);
  return r.stdout;
};

describe('extractVmlinux', () => {
  for (const tool of ['zstd', 'xz']) {
    it.skipIf(!has(tool))(
      `finds the ${tool} payload through the setup header and writes the ELF`,
      () => {
        const dir = makeTempDir();
        try {
          const elf = fakeElf();
          extractVmlinux(bzImage(compress(tool, elf)), dir.file('vmlinux'));
          expect(readFileSync(dir.file('vmlinux')).equals(elf)).toBe(true);
        } finally {
          dir.remove();
        }
      },
    );
  }

  it('refuses what is not a bzImage, an unknown payload and an ELF without .BTF', () => {
    const dir = makeTempDir();
    try {
      const out = dir.file('vmlinux');
      expect(() => extractVmlinux(Buffer.alloc(4096), out)).toThrow(/not a bzImage/);
      expect(() => extractVmlinux(bzImage(Buffer.from('gzipgzipgzip')), out)).toThrow(
        /neither zstd nor xz/,
      );
      const short = bzImage(Buffer.alloc(16));
      short.writeUInt32LE(1 << 30, 0x24c);
      expect(() => extractVmlinux(short, out)).toThrow(KernelUnavailableError);
      if (has('zstd')) {
        const noBtf = compress(
          'zstd',
          Buffer.concat([Buffer.from('\x7fELF', 'latin1'), Buffer.alloc(64)]),
        );
        expect(() => extractVmlinux(bzImage(noBtf), out)).toThrow(/no \.BTF/);
      }
      expect(existsSync(out)).toBe(false);
    } finally {
      dir.remove();
    }
  });
});

describe('parseSerialLog', () => {
  it('reads results, the exit status and the release, also after kernel text on the line', () => {
    const log = [
      'SeaBIOS',
      'Booting from ROM..@@TRAMWAY-BOOT 7.3.4+deb13-amd64',
      '@@TRAMWAY {"kind":"path","fired":10}',
      '[   3.1] some kernel line @@TRAMWAY {"kind":"budget","links":36}',
      '@@TRAMWAY {not json',
      '@@TRAMWAY-EXIT 0',
      '[   11.2] reboot: Power down',
    ].join('\r\n');
    const r = parseSerialLog(log);
    expect(r.guestRelease).toBe('7.3.4+deb13-amd64');
    expect(r.exitCode).toBe(0);
    expect(r.results).toEqual([
      { kind: 'path', fired: 10 },
      { kind: 'budget', links: 36 },
      { unparsable: '{not json' },
    ]);
    expect(r.logTail).toContain('reboot: Power down');
  });

  it('has no exit status when the guest never reported one', () => {
    const r = parseSerialLog('Kernel panic - not syncing: No working init found.\n');
    expect(r).toMatchObject({ exitCode: null, guestRelease: null, results: [] });
  });
});
