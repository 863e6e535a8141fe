import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { expandWaves, selectNodes } from '../../../../shared/src/domain/policy/policy.select.js';
import { validatePolicy } from '../../../../shared/src/domain/policy/policy.validate.js';
import type { Policy } from '../../../../shared/src/domain/policy/policy.types.js';

const policyWith = (matchLabels?: Record<string, string>): Policy => {
  const r = validatePolicy({
    apiVersion: 'tramway.dev/v1alpha1',
    kind: 'TracingPolicy',
    metadata: { name: 'p' },
    spec: {
      program: { name: 'p', attach: 'fentry' },
      targets: [{ pattern: 'f' }],
      ...(matchLabels === undefined ? {} : { nodeSelector: { matchLabels } }),
    },
  });
  if (!r.ok) throw new Error('fixture policy is invalid');
  return r.value;
};

const nodes = [
  { nodeId: 'web-2', labels: { role: 'web', zone: 'a' } },
  { nodeId: 'db-1', labels: { role: 'db', zone: 'a' } },
  { nodeId: 'web-1', labels: { role: 'web', zone: 'b' } },
];

describe('selectNodes', () => {
  it('selects every node, sorted by id, when the policy has no selector', () => {
    expect(selectNodes(policyWith(), nodes).map((n) => n.nodeId)).toEqual([
      'db-1',
      'web-1',
      'web-2',
    ]);
  });

  it('selects the nodes carrying every label of matchLabels', () => {
    expect(selectNodes(policyWith({ role: 'web' }), nodes).map((n) => n.nodeId)).toEqual([
      'web-1',
      'web-2',
    ]);
    expect(selectNodes(policyWith({ role: 'web', zone: 'a' }), nodes).map((n) => n.nodeId)).toEqual(
      ['web-2'],
    );
    expect(selectNodes(policyWith({ role: 'cache' }), nodes)).toEqual([]);
  });
});

describe('expandWaves', () => {
  const ids = (n: number): string[] =>
    Array.from({ length: n }, (_, i) => `n${String(i).padStart(2, '0')}`);

  it('splits 20 nodes into cumulative waves [1, "10%", "50%", "100%"] over sorted ids', () => {
    const sut = expandWaves([1, '10%', '50%', '100%'], [...ids(20)].reverse());
    expect(sut.map((w) => w.length)).toEqual([1, 1, 8, 10]);
    expect(sut[0]).toEqual(['n00']);
    expect(sut.flat()).toEqual(ids(20));
  });

  it('leaves out a wave that adds no node and caps counts at the number of nodes', () => {
    expect(expandWaves([1, '10%', '100%'], ids(5))).toEqual([
      ['n00'],
      ['n01', 'n02', 'n03', 'n04'],
    ]);
    expect(expandWaves([10, '100%'], ids(3))).toEqual([['n00', 'n01', 'n02']]);
  });

  it('rounds percentages up', () => {
    expect(expandWaves(['34%', '100%'], ids(3)).map((w) => w.length)).toEqual([2, 1]);
  });

  it('covers the remaining nodes with a last wave when the sizes stop short of 100%', () => {
    expect(expandWaves([1], ids(3))).toEqual([['n00'], ['n01', 'n02']]);
  });

  it('gives no wave for no node', () => {
    expect(expandWaves([1, '100%'], [])).toEqual([]);
  });

  it('assigns every node to exactly one wave, deterministically, for any sizes', () => {
    const size = fc.oneof(
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 1, max: 100 }).map((p) => `${p}%` as const),
    );
    fc.assert(
      fc.property(
        fc.array(size, { maxLength: 6 }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 40 }),
        (waves, nodeIds) => {
          const sut = expandWaves(waves, nodeIds);
          expect(sut.flat()).toEqual([...nodeIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
          expect(sut.every((w) => w.length > 0)).toBe(true);
          expect(expandWaves(waves, [...nodeIds].reverse())).toEqual(sut);
        },
      ),
    );
  });
});
