import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  formatPolicyProblems,
  LABEL_NAME_MAX,
  LABEL_PREFIX_MAX,
  LABEL_VALUE_MAX,
  MAX_ANNOTATION_VALUE,
  MAX_ANNOTATIONS,
  MAX_LABELS,
  MAX_TARGETS,
  MAX_WAVES,
  validatePolicy,
  validatePolicySpec,
} from '../../../../shared/src/domain/policy/policy.validate.js';
import { MAX_PATTERN_LENGTH, MAX_PATTERN_STARS } from '../../../../shared/src/btf/index.js';

const aPolicy = (spec: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'tramway.dev/v1alpha1',
  kind: 'TracingPolicy',
  metadata: { name: 'tcp-latency' },
  spec: {
    program: { name: 'tcp_lat', attach: 'fentry' },
    targets: [{ pattern: 'tcp_*' }],
    ...spec,
  },
  ...extra,
});

const problemsOf = (input: unknown): readonly string[] => {
  const result = validatePolicy(input);
  return result.ok ? [] : formatPolicyProblems(result.error);
};

describe('validatePolicy', () => {
  it('accepts a minimal policy and applies the defaults', () => {
    const sut = validatePolicy(aPolicy());
    expect(sut).toEqual({
      ok: true,
      value: {
        apiVersion: 'tramway.dev/v1alpha1',
        kind: 'TracingPolicy',
        metadata: { name: 'tcp-latency' },
        spec: {
          program: { name: 'tcp_lat', attach: 'fentry', sleepable: false, reads: [] },
          targets: [{ pattern: 'tcp_*' }],
          strategy: 'auto',
          rollout: { waves: ['100%'], maxFailureRatio: 0, pauseSeconds: 0 },
        },
      },
    });
  });

  it('normalises cookies to decimal strings, keeping u64 precision from strings', () => {
    const sut = validatePolicy(
      aPolicy({
        targets: [
          { pattern: 'a', cookie: 7 },
          { pattern: 'b', cookie: '18446744073709551615' },
        ],
      }),
    );
    expect(sut.ok && sut.value.spec.targets).toEqual([
      { pattern: 'a', cookie: '7' },
      { pattern: 'b', cookie: '18446744073709551615' },
    ]);
  });

  it('lists every problem at once, each with its path', () => {
    expect(
      problemsOf({
        apiVersion: 'v1',
        kind: 'Policy',
        metadata: {},
        spec: { program: { attach: 'kprobe' }, targets: [] },
      }),
    ).toEqual([
      'apiVersion: must be "tramway.dev/v1alpha1" (got "v1")',
      'kind: must be "TracingPolicy" (got "Policy")',
      'metadata.name: must be 1-63 characters of [a-z0-9-], starting and ending alphanumeric (got nothing)',
      'spec.program.name: must be a BPF program name: 1-15 characters of [A-Za-z0-9_.] (got nothing)',
      'spec.program.attach: must be one of fentry, fexit, fmod_ret (got "kprobe")',
      'spec.targets: must list at least one target',
    ]);
  });

  it('takes a program object digest beside the name, and refuses anything else there', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    const sut = validatePolicy(
      aPolicy({ program: { name: 'stats_entry', object: digest, attach: 'fentry' } }),
    );
    expect(sut.ok && sut.value.spec.program).toEqual({
      name: 'stats_entry',
      object: digest,
      attach: 'fentry',
      sleepable: false,
      reads: [],
    });
    for (const bad of [
      'sha256:abc',
      digest.toUpperCase(),
      `sha512:${'0'.repeat(64)}`,
      `${'0'.repeat(64)}`,
      42,
    ])
      expect(
        problemsOf(aPolicy({ program: { name: 'stats_entry', object: bad, attach: 'fentry' } })),
      ).toEqual([
        expect.stringMatching(
          /^spec\.program\.object: must be a program object digest, sha256: and 64 lowercase hex digits/,
        ),
      ]);
  });

  it('refuses a non-object document', () => {
    expect(problemsOf('hello')).toEqual([
      '(policy): must be a mapping with apiVersion, kind, metadata and spec (got a string)',
    ]);
  });

  it('names unknown fields (typos are not silently ignored)', () => {
    expect(problemsOf(aPolicy({ nodeselector: { matchLabels: {} } }))).toEqual([
      'spec.nodeselector: unknown field (expected one of: program, targets, nodeSelector, strategy, rollout)',
    ]);
  });

  it.each([
    ['a'.repeat(64), 'too long'],
    ['-web', 'leading dash'],
    ['Web', 'upper case'],
  ])('refuses the policy name %j (%s)', (name) => {
    expect(problemsOf({ ...aPolicy(), metadata: { name } })[0]).toMatch(/^metadata\.name: /);
  });

  describe('program.reads', () => {
    it("accepts indices 0-11 and 'ret' for fexit", () => {
      const sut = validatePolicy(
        aPolicy({ program: { name: 'p', attach: 'fexit', reads: [0, 11, 'ret'] } }),
      );
      expect(sut.ok && sut.value.spec.program.reads).toEqual([0, 11, 'ret']);
    });

    it("refuses 'ret' for fentry, index 12, a negative or fractional index and duplicates", () => {
      expect(
        problemsOf(
          aPolicy({ program: { name: 'p', attach: 'fentry', reads: ['ret', 12, -1, 1.5, 2, 2] } }),
        ),
      ).toEqual([
        "spec.program.reads[0]: 'ret' (the return value) is readable only by fexit and fmod_ret programs",
        'spec.program.reads[1]: argument index 12 is out of range 0-11',
        'spec.program.reads[2]: argument index -1 is out of range 0-11',
        "spec.program.reads[3]: must be an argument index 0-11 or 'ret' (got 1.5)",
        'spec.program.reads[5]: duplicate argument index 2',
      ]);
    });

    it('accepts returns for fmod_ret only', () => {
      expect(
        problemsOf(aPolicy({ program: { name: 'p', attach: 'fmod_ret', returns: -22 } })),
      ).toEqual([]);
      expect(problemsOf(aPolicy({ program: { name: 'p', attach: 'fexit', returns: 0 } }))).toEqual([
        'spec.program.returns: applies to fmod_ret programs only (attach is fexit)',
      ]);
    });
  });

  describe('targets', () => {
    it('checks each pattern with the BTF pattern parser and refuses duplicates', () => {
      expect(
        problemsOf(
          aPolicy({
            targets: [
              { pattern: 'tcp_*' },
              { pattern: 'mod:' },
              { pattern: 'x[a' },
              { pattern: 'tcp_*' },
            ],
          }),
        ),
      ).toEqual([
        "spec.targets[1].pattern: pattern 'mod:': empty function glob",
        "spec.targets[2].pattern: pattern 'x[a': unclosed '[' at position 1 in 'x[a'",
        'spec.targets[3].pattern: duplicate of spec.targets[0]',
      ]);
    });

    it('reports bad ranges, empty classes and patterns over the limits at their path, never throwing', () => {
      const long = `a${'b'.repeat(MAX_PATTERN_LENGTH)}`;
      const starry = '*x'.repeat(MAX_PATTERN_STARS + 1);
      expect(
        problemsOf(
          aPolicy({
            targets: [
              { pattern: 'tcp_*' },
              { pattern: 'tcp_[z-a]' },
              { pattern: 'mod[!]:f' },
              { pattern: '' },
              { pattern: long },
              { pattern: starry },
              { pattern: '*'.repeat(MAX_PATTERN_STARS) },
            ],
          }),
        ),
      ).toEqual([
        "spec.targets[1].pattern: pattern 'tcp_[z-a]': bad character range 'z-a' (its start is after its end) at position 4 in 'tcp_[z-a]'",
        "spec.targets[2].pattern: pattern 'mod[!]:f': empty character class '[!]' at position 3 in 'mod[!]'",
        'spec.targets[3].pattern: must be a non-empty glob (got "")',
        `spec.targets[4].pattern: pattern '${long.slice(0, 57)}...': 257 characters, more than 256`,
        `spec.targets[5].pattern: pattern '${starry}': 17 '*', more than 16`,
      ]);
    });

    it(`accepts ${MAX_TARGETS} targets and refuses one more with a single problem`, () => {
      const targets = (n: number) => Array.from({ length: n }, (_, i) => ({ pattern: `f${i}` }));
      expect(problemsOf(aPolicy({ targets: targets(MAX_TARGETS) }))).toEqual([]);
      expect(problemsOf(aPolicy({ targets: targets(MAX_TARGETS + 1) }))).toEqual([
        'spec.targets: lists 4097 targets, more than 4096',
      ]);
    });

    it('refuses cookies that are not u64, and numbers too large to be exact', () => {
      expect(
        problemsOf(
          aPolicy({
            targets: [
              { pattern: 'a', cookie: -1 },
              { pattern: 'b', cookie: '18446744073709551616' },
              { pattern: 'c', cookie: 2 ** 60 },
              { pattern: 'd', cookie: '0x10' },
            ],
          }),
        ),
      ).toEqual([
        'spec.targets[0].cookie: must be an unsigned 64-bit integer (got -1)',
        'spec.targets[1].cookie: 18446744073709551616 is above 2^64-1',
        'spec.targets[2].cookie: 1152921504606847000 is above 2^53 and cannot be exact as a number: write it as a decimal string',
        'spec.targets[3].cookie: must be an unsigned 64-bit integer or its decimal string (got "0x10")',
      ]);
    });
  });

  it('bounds the number of labels and the length of label keys and values (as Kubernetes)', () => {
    const labels = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    expect(problemsOf(aPolicy({ nodeSelector: { matchLabels: labels(MAX_LABELS) } }))).toEqual([]);
    expect(problemsOf(aPolicy({ nodeSelector: { matchLabels: labels(MAX_LABELS + 1) } }))).toEqual([
      'spec.nodeSelector.matchLabels: has 65 labels, more than 64',
    ]);
    const name = 'n'.repeat(LABEL_NAME_MAX);
    const prefix = `${'p'.repeat(63)}.${'p'.repeat(63)}.${'p'.repeat(63)}.${'p'.repeat(61)}`;
    expect(prefix.length).toBe(LABEL_PREFIX_MAX);
    const value = 'v'.repeat(LABEL_VALUE_MAX);
    expect(
      problemsOf(aPolicy({ nodeSelector: { matchLabels: { [`${prefix}/${name}`]: value } } })),
    ).toEqual([]);
    expect(
      problemsOf(
        aPolicy({
          nodeSelector: {
            matchLabels: { [`${name}n`]: 'v', [`${prefix}p/a`]: 'v', b: `${value}v` },
          },
        }),
      ),
    ).toEqual([
      expect.stringMatching(
        /^spec\.nodeSelector\.matchLabels\.n+: label name "n+\.\.\. must be 1-63 characters/,
      ),
      expect.stringMatching(
        /^spec\.nodeSelector\.matchLabels\.p.*: label prefix "p+\.\.\. must be a DNS subdomain$/,
      ),
      expect.stringMatching(
        /^spec\.nodeSelector\.matchLabels\.b: label value must be a string of at most 63 characters/,
      ),
    ]);
  });

  it('checks metadata labels and annotations, bounded in number and size', () => {
    const meta = (extra: Record<string, unknown>) => ({
      ...aPolicy(),
      metadata: { name: 'tcp-latency', ...extra },
    });
    const many = (n: number, v: string) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, v]));
    expect(
      problemsOf(
        meta({
          labels: many(MAX_LABELS, 'v'),
          annotations: many(MAX_ANNOTATIONS, 'x'.repeat(MAX_ANNOTATION_VALUE)),
        }),
      ),
    ).toEqual([]);
    expect(
      problemsOf(
        meta({ labels: many(MAX_LABELS + 1, 'v'), annotations: many(MAX_ANNOTATIONS + 1, '') }),
      ),
    ).toEqual([
      'metadata.labels: has 65 labels, more than 64',
      'metadata.annotations: has 65 annotations, more than 64',
    ]);
    expect(
      problemsOf(
        meta({
          labels: { 'a b': 'v', c: 1 },
          annotations: { d: 'x'.repeat(MAX_ANNOTATION_VALUE + 1), e: 2 },
        }),
      ),
    ).toEqual([
      'metadata.labels.a b: label name "a b" must be 1-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric',
      'metadata.labels.c: label value must be a string of at most 63 characters of [A-Za-z0-9-_.] (got 1)',
      'metadata.annotations.d: annotation value must be a string of at most 4096 characters (got 4097 characters)',
      'metadata.annotations.e: annotation value must be a string of at most 4096 characters (got 2)',
    ]);
    expect(problemsOf(meta({ labels: 'x' }))).toEqual([
      'metadata.labels: must be a map of label to value (got a string)',
    ]);
  });

  it(`bounds waves (${MAX_WAVES}) and program.reads (one per argument and 'ret')`, () => {
    const waves = (n: number) => [...Array.from({ length: n - 1 }, () => 1), '100%'];
    expect(problemsOf(aPolicy({ rollout: { waves: waves(MAX_WAVES) } }))).toEqual([]);
    expect(problemsOf(aPolicy({ rollout: { waves: waves(MAX_WAVES + 1) } }))).toEqual([
      'spec.rollout.waves: lists 101 waves, more than 100',
    ]);
    expect(
      problemsOf(
        aPolicy({
          program: { name: 'p', attach: 'fexit', reads: Array.from({ length: 14 }, () => 0) },
        }),
      ),
    ).toEqual([
      "spec.program.reads: lists 14 entries, more than the 13 there are (argument indices 0-11 and 'ret')",
    ]);
  });

  it('checks nodeSelector label names and values', () => {
    expect(
      problemsOf(
        aPolicy({
          nodeSelector: { matchLabels: { 'tramway.dev/role': 'web', 'bad key': 'x', zone: 7 } },
        }),
      ),
    ).toEqual([
      'spec.nodeSelector.matchLabels.bad key: label name "bad key" must be 1-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric',
      'spec.nodeSelector.matchLabels.zone: label value must be a string of at most 63 characters of [A-Za-z0-9-_.] (got 7)',
    ]);
  });

  describe('rollout', () => {
    it('accepts counts and percentages that end with "100%"', () => {
      const sut = validatePolicy(
        aPolicy({
          rollout: { waves: [1, '10%', 5, '50%', '100%'], maxFailureRatio: 0.1, pauseSeconds: 30 },
        }),
      );
      expect(sut.ok && sut.value.spec.rollout).toEqual({
        waves: [1, '10%', 5, '50%', '100%'],
        maxFailureRatio: 0.1,
        pauseSeconds: 30,
      });
    });

    it('refuses bad sizes, decreasing waves and a last wave other than "100%"', () => {
      expect(problemsOf(aPolicy({ rollout: { waves: [0, '0%', '101%', 'x'] } }))).toEqual([
        'spec.rollout.waves[0]: a node count must be a positive integer (got 0)',
        'spec.rollout.waves[1]: must be a positive node count or a percentage "1%".."100%" (got "0%")',
        'spec.rollout.waves[2]: must be a positive node count or a percentage "1%".."100%" (got "101%")',
        'spec.rollout.waves[3]: must be a positive node count or a percentage "1%".."100%" (got "x")',
      ]);
      expect(problemsOf(aPolicy({ rollout: { waves: [5, 2, '100%'] } }))).toEqual([
        'spec.rollout.waves[1]: 2 is smaller than an earlier wave (5): waves are cumulative and must not decrease',
      ]);
      expect(problemsOf(aPolicy({ rollout: { waves: [1, '50%'] } }))).toEqual([
        'spec.rollout.waves[1]: the last wave must be "100%" so that every selected node is covered (got "50%"); add "100%" at the end',
      ]);
    });

    it('refuses maxFailureRatio outside [0, 1] and a negative pause', () => {
      expect(problemsOf(aPolicy({ rollout: { maxFailureRatio: -0.1, pauseSeconds: -5 } }))).toEqual(
        [
          'spec.rollout.maxFailureRatio: must be a number in [0, 1] (got -0.1)',
          'spec.rollout.pauseSeconds: must be a number of seconds >= 0 (got -5)',
        ],
      );
    });
  });

  it('is idempotent: validating a valid result gives the same value', () => {
    const arbPolicy = fc.record({
      attach: fc.constantFrom('fentry', 'fexit', 'fmod_ret'),
      sleepable: fc.option(fc.boolean(), { nil: undefined }),
      reads: fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { maxLength: 4 }),
      cookies: fc.array(
        fc.option(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { nil: undefined }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
      strategy: fc.option(fc.constantFrom('multi', 'per-function', 'auto'), { nil: undefined }),
      ratio: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(arbPolicy, (a) => {
        const input = aPolicy({
          program: {
            name: 'p',
            attach: a.attach,
            reads: a.reads,
            ...(a.sleepable === undefined ? {} : { sleepable: a.sleepable }),
          },
          targets: a.cookies.map((c, i) =>
            c === undefined ? { pattern: `f${i}` } : { pattern: `f${i}`, cookie: String(c) },
          ),
          ...(a.strategy === undefined ? {} : { strategy: a.strategy }),
          rollout: { waves: [1, '100%'], maxFailureRatio: a.ratio },
        });
        const first = validatePolicy(input);
        expect(first.ok).toBe(true);
        if (first.ok) expect(validatePolicy(first.value)).toEqual(first);
      }),
    );
  });
});

describe('validatePolicySpec', () => {
  it('validates a spec alone, paths under "spec"', () => {
    const sut = validatePolicySpec({
      program: { name: 'p', attach: 'fexit' },
      targets: [{ pattern: 'a' }],
    });
    expect(sut.ok).toBe(true);
    const bad = validatePolicySpec({ program: { name: 'p', attach: 'fexit' } });
    expect(bad.ok ? [] : formatPolicyProblems(bad.error)).toEqual([
      'spec.targets: must be a list of targets (got nothing)',
    ]);
  });
});
