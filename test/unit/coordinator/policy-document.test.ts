import { describe, expect, it } from 'vitest';
import { parsePolicyDocument } from '../../../services/coordinator/src/policy/policy-document.js';
import { loadConfig } from '../../../services/coordinator/src/config.js';

const YAML = `apiVersion: tramway.dev/v1alpha1
kind: TracingPolicy
metadata:
  name: tcp-latency
spec:
  program:
    name: tcp_lat
    attach: fentry
    reads: [0, 1, ret]
  targets:
    - pattern: "tcp_*"
      cookie: 1
    - pattern: "nf_tables:nft_*"
      cookie: "18446744073709551615"
  nodeSelector:
    matchLabels: { role: web }
  strategy: auto
  rollout:
    waves: [1, "10%", "50%", "100%"]
    maxFailureRatio: 0.1
    pauseSeconds: 0
`;

describe('parsePolicyDocument', () => {
  it('accepts the documented example as YAML text', () => {
    const parsed = parsePolicyDocument(YAML);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.metadata.name).toBe('tcp-latency');
    expect(parsed.value.spec.targets[1]).toEqual({
      pattern: 'nf_tables:nft_*',
      cookie: '18446744073709551615',
    });
  });

  it('lists every problem with its path', () => {
    const parsed = parsePolicyDocument({
      apiVersion: 'v2',
      kind: 'TracingPolicy',
      metadata: { name: '-bad-' },
      spec: {
        program: { name: 'tcp_lat', attach: 'kprobe' },
        targets: [{ pattern: 'tcp_*' }, { pattern: '', cookie: '18446744073709551616' }],
        rollout: { maxFailureRatio: 2 },
        extra: true,
      },
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^apiVersion: /),
        expect.stringMatching(/^metadata\.name: /),
        expect.stringMatching(/^spec\.program\.attach: /),
        expect.stringMatching(/^spec\.targets\[1\]\.pattern: /),
        expect.stringMatching(/^spec\.targets\[1\]\.cookie: /),
        expect.stringMatching(/^spec\.rollout\.maxFailureRatio: /),
        'spec.extra: unknown field',
      ]),
    );
    expect(parsed.error).toHaveLength(7);
  });

  it('refuses waves that do not grow, naming each', () => {
    const parsed = parsePolicyDocument(
      YAML.replace('[1, "10%", "50%", "100%"]', '[5, 3, "50%", "20%"]'),
    );
    expect(parsed).toEqual({
      ok: false,
      error: [
        'spec.rollout.waves[1]: must be larger than 5',
        'spec.rollout.waves[3]: must be larger than 50%',
      ],
    });
  });

  it('names YAML syntax errors and non-objects', () => {
    const bad = parsePolicyDocument('spec: [unclosed');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error[0]).toMatch(/^\(document\): not valid YAML: /);
    expect(parsePolicyDocument(42)).toEqual({
      ok: false,
      error: ['(document): expected a TracingPolicy object'],
    });
  });
});

describe('loadConfig', () => {
  it('applies defaults and coerces numbers', () => {
    const config = loadConfig({ HTTP_PORT: '9000' });
    expect(config).toMatchObject({ STORE: 'sqlite', HTTP_PORT: 9000, STALE_AFTER_MS: 15_000 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every bad key', () => {
    expect(() => loadConfig({ STORE: 'jetstream', HTTP_PORT: 'x', STALE_AFTER_MS: '-1' })).toThrow(
      /HTTP_PORT: .*; STALE_AFTER_MS: .*; NATS_URL: required when STORE=jetstream/,
    );
  });
});
