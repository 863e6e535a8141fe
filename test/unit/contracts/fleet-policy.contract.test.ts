import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parsePolicy,
  parsePolicyOrProblems,
} from '../../../shared/src/contracts/policy.contract.js';

const example = (name: string): string =>
  readFileSync(new URL(`../../../examples/policies/${name}`, import.meta.url), 'utf8');

describe('parsePolicy', () => {
  it('parses the tcp-latency example into a typed policy', () => {
    const sut = parsePolicy(example('tcp-latency.yaml'));
    expect(sut.ok).toBe(true);
    if (!sut.ok) return;
    expect(sut.value.metadata.name).toBe('tcp-latency');
    expect(sut.value.spec.targets.map((t) => t.pattern)).toEqual([
      'tcp_sendmsg',
      'tcp_recvmsg',
      'tcp_v[46]_connect',
      'nf_tables:nft_do_chain*',
    ]);
    expect(sut.value.spec.targets[3]?.cookie).toBe('18446744073709551615');
    expect(sut.value.spec.rollout).toEqual({
      waves: [1, '50%', '100%'],
      maxFailureRatio: 0.34,
      pauseSeconds: 10,
    });
  });

  it('lists every problem of the invalid example, each with its path', () => {
    expect(parsePolicyOrProblems(example('invalid-policy.yaml'))).toEqual({
      ok: false,
      problems: [
        'apiVersion: must be "tramway.dev/v1alpha1" (got "tramway.dev/v1")',
        'metadata.name: must be 1-63 characters of [a-z0-9-], starting and ending alphanumeric (got "TCP_Latency")',
        'spec.program.name: must be a BPF program name: 1-15 characters of [A-Za-z0-9_.] (got "tcp_latency_program")',
        'spec.program.reads[1]: argument index 12 is out of range 0-11',
        "spec.program.reads[2]: 'ret' (the return value) is readable only by fexit and fmod_ret programs",
        "spec.targets[0].pattern: pattern 'tcp_[sendmsg': unclosed '[' at position 4 in 'tcp_[sendmsg'",
        'spec.targets[1].cookie: must be an unsigned 64-bit integer (got -1)',
        'spec.nodeSelector.matchLabels.role!: label name "role!" must be 1-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric',
        'spec.strategy: must be one of multi, per-function, auto (got "fastest")',
        'spec.rollout.waves[2]: 10% is smaller than an earlier wave (50%): waves are cumulative and must not decrease',
        'spec.rollout.waves[2]: the last wave must be "100%" so that every selected node is covered (got "10%"); add "100%" at the end',
        'spec.rollout.maxFailureRatio: must be a number in [0, 1] (got 1.5)',
        'spec.rollout.pauseSeconds: must be a number of seconds >= 0 (got -1)',
      ],
    });
  });

  it('reports a YAML syntax error with its line and column', () => {
    expect(parsePolicyOrProblems('apiVersion: x\nspec: [1,\n  b: c')).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^\(yaml\): line \d+, column \d+: /)],
    });
  });

  it('refuses an empty text and several documents', () => {
    expect(parsePolicyOrProblems('')).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^\(policy\): /)],
    });
    expect(parsePolicyOrProblems('a: 1\n---\nb: 2\n')).toEqual({
      ok: false,
      problems: ['(policy): 2 YAML documents: one TracingPolicy per text'],
    });
  });

  it('takes an already decoded object too (the HTTP API accepts both)', () => {
    const text = parsePolicy(example('tcp-latency.yaml'));
    expect(text.ok && parsePolicy(text.value)).toEqual(text);
  });
});
