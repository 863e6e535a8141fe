import { describe, expect, it } from 'vitest';
import {
  ATTACH_TYPES,
  ERRNO_ALIASES,
  ERRNO_NUMBERS,
  attachTypeOf,
  errnoNumber,
  formatAttachName,
  isErrno,
  parseAttachName,
} from '@tramway/shared/lib';

describe('errno table', () => {
  it('gives the Linux values of the names the kernel model returns', () => {
    expect(
      (
        ['EPERM', 'ENOENT', 'ESRCH', 'E2BIG', 'EAGAIN', 'EINVAL', 'EOPNOTSUPP', 'ENOTSUPP'] as const
      ).map(errnoNumber),
    ).toEqual([1, 2, 3, 7, 11, 22, 95, 524]);
  });

  it('has one name per value, and aliases only name canonical entries', () => {
    const values = Object.values(ERRNO_NUMBERS);
    expect(new Set(values).size).toBe(values.length);
    for (const [alias, canonical] of Object.entries(ERRNO_ALIASES)) {
      expect(isErrno(alias)).toBe(false);
      expect(isErrno(canonical)).toBe(true);
    }
  });
});

describe('attach names', () => {
  it('reads kind, multi and sleepable, and refuses other text', () => {
    expect(parseAttachName('fexit.multi.s')).toEqual({
      kind: 'fexit',
      multi: true,
      sleepable: true,
    });
    expect(parseAttachName('fsession')).toEqual({
      kind: 'fsession',
      multi: false,
      sleepable: false,
    });
    expect(parseAttachName('fentry.s.multi')).toBeNull();
    expect(parseAttachName('kprobe.multi')).toBeNull();
  });

  it('spells an attach name back as it was read', () => {
    for (const text of ['fentry', 'fexit.s', 'fmod_ret.multi', 'fsession.multi.s']) {
      const name = parseAttachName(text);
      expect(name && formatAttachName(name)).toBe(text);
    }
  });

  it('maps each attach name to its uapi attach type, ignoring .s', () => {
    expect(
      [
        'fentry',
        'fexit.s',
        'fmod_ret',
        'fentry.multi',
        'fexit.multi.s',
        'fmod_ret.multi',
        'fsession.multi',
      ].map(attachTypeOf),
    ).toEqual([
      'BPF_TRACE_FENTRY',
      'BPF_TRACE_FEXIT',
      'BPF_MODIFY_RETURN',
      'BPF_TRACE_FENTRY_MULTI',
      'BPF_TRACE_FEXIT_MULTI',
      'BPF_MODIFY_RETURN_MULTI',
      'BPF_TRACE_FSESSION_MULTI',
    ]);
    expect(attachTypeOf('fsession')).toBeUndefined();
    expect(ATTACH_TYPES).toContain('BPF_TRACE_KPROBE_MULTI');
  });
});
