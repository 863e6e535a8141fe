/**
 * TRACING_POLICY_SCHEMA (the zod shape of a policy, from which the OpenAPI document's
 * TracingPolicy is generated) against the domain validator `validatePolicy`: the schema accepts
 * every policy the validator accepts (it never refuses more, so running it on every policy
 * changes no answer), and refuses every misplaced or misspelt key and wrong type the validator
 * refuses (it is never looser on the shape).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse } from 'yaml';
import {
  TRACING_POLICY_SCHEMA,
  parsePolicy,
} from '../../../shared/src/contracts/policy.contract.js';
import { validatePolicy } from '../../../shared/src/domain/policy/policy.validate.js';

const example = parse(
  readFileSync(new URL('../../../examples/policies/tcp-latency.yaml', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** A full policy: every optional member present. */
const full = (): Record<string, unknown> => ({
  apiVersion: 'tramway.dev/v1alpha1',
  kind: 'TracingPolicy',
  metadata: {
    name: 'tcp-latency',
    labels: { team: 'net', 'example.com/tier': '' },
    annotations: { 'example.com/owner': 'net team <net@example.com>' },
  },
  spec: {
    program: {
      name: 'tcp_lat',
      object: `sha256:${'ab'.repeat(32)}`,
      attach: 'fmod_ret',
      sleepable: false,
      origin: 'vmlinux:tcp_sendmsg',
      reads: [0, 3, 'ret'],
      returns: -1,
    },
    targets: [{ pattern: 'tcp_*', cookie: 7 }, { pattern: 'nf_tables:nft_*' }],
    nodeSelector: { matchLabels: { role: 'web' } },
    strategy: 'multi',
    rollout: { waves: [1, '50%', '100%'], maxFailureRatio: 0.5, pauseSeconds: 30 },
  },
});

const shapeOk = (input: unknown): boolean => TRACING_POLICY_SCHEMA.safeParse(input).success;
const domainOk = (input: unknown): boolean => validatePolicy(input).ok;

/** Every object of `value` with its path, the root first. */
const objectsOf = (value: unknown, path: string[] = []): { path: string[]; obj: object }[] => {
  if (typeof value !== 'object' || value === null) return [];
  const here = Array.isArray(value) ? [] : [{ path, obj: value }];
  return [...here, ...Object.entries(value).flatMap(([k, v]) => objectsOf(v, [...path, k]))];
};

const at = (root: unknown, path: readonly string[]): Record<string, unknown> =>
  path.reduce((o, k) => (o as Record<string, unknown>)[k], root) as Record<string, unknown>;

/** Maps whose keys are the user's (labels, annotations): any well-formed key is allowed there. */
const isMap = (path: readonly string[]): boolean =>
  ['labels', 'annotations', 'matchLabels'].includes(path[path.length - 1] ?? '');

describe('TRACING_POLICY_SCHEMA', () => {
  it('accepts the example policy, a full one and their normalised forms', () => {
    for (const input of [example, full()]) {
      expect(domainOk(input)).toBe(true);
      expect(TRACING_POLICY_SCHEMA.safeParse(input).error?.issues ?? []).toEqual([]);
      const normalised = validatePolicy(input);
      expect(normalised.ok && shapeOk(normalised.value)).toBe(true);
    }
  });

  it('refuses a misspelt key at every level of a policy, as the domain validator does', () => {
    const objects = objectsOf(full()).filter((o) => !isMap(o.path));
    expect(objects.length).toBeGreaterThanOrEqual(8);
    for (const { path } of objects) {
      const input = full();
      at(input, path)['nodeSelecter'] = {};
      expect(shapeOk(input), path.join('.')).toBe(false);
      expect(domainOk(input), path.join('.')).toBe(false);
    }
    const typo = full();
    const spec = at(typo, ['spec']);
    spec['nodeSelecter'] = spec['nodeSelector'];
    delete spec['nodeSelector'];
    expect(shapeOk(typo)).toBe(false);
    expect(parsePolicy(typo)).toMatchObject({
      ok: false,
      error: [{ path: 'spec.nodeSelecter', message: expect.stringMatching(/^unknown field/) }],
    });
  });

  it('refuses a value of the wrong type at every member, as the domain validator does', () => {
    const wrong = [null, true, 'x', 1.5, [], {}];
    for (const { path, obj } of objectsOf(full())) {
      if (isMap(path)) continue;
      for (const key of Object.keys(obj)) {
        const original = (obj as Record<string, unknown>)[key];
        for (const value of wrong) {
          if (JSON.stringify(value) === JSON.stringify(original)) continue;
          const input = full();
          at(input, path)[key] = value;
          const where = `${[...path, key].join('.')} = ${JSON.stringify(value)}`;
          expect(shapeOk(input), where).toBe(domainOk(input));
        }
      }
    }
  });

  it('never refuses a policy the domain validator accepts (generated policies)', () => {
    // mostly valid values, sometimes wild ones (strings over an alphabet wider than any pattern
    // allows, out-of-range numbers), so that the regexes and bounds are probed near the edges
    const mostly = <T, U>(valid: fc.Arbitrary<T>, wild: fc.Arbitrary<U>) =>
      fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: wild, weight: 1 });
    const text = fc.string({ unit: fc.constantFrom(...'aZ09-_./:@% '.split('')), maxLength: 12 });
    const word = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);
    const labelMap = fc.dictionary(mostly(word, text), mostly(word, text), { maxKeys: 3 });
    const arbInput = fc.record({
      name: mostly(fc.constant('tcp-latency'), text),
      labels: labelMap,
      annotations: fc.dictionary(mostly(word, text), fc.string({ maxLength: 8 }), {
        maxKeys: 2,
      }),
      program: fc.record({
        name: mostly(fc.constant('p'), text),
        attach: mostly(fc.constantFrom('fentry', 'fexit', 'fmod_ret'), fc.constant('kprobe')),
        origin: fc.option(mostly(word, text), { nil: undefined }),
        object: fc.option(
          mostly(
            fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`),
            fc.oneof(text, fc.stringMatching(/^sha256:[0-9a-fA-F]{60,66}$/)),
          ),
          { nil: undefined },
        ),
        reads: mostly(
          fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { maxLength: 3 }),
          fc.array(fc.oneof(fc.integer({ min: -1, max: 13 }), fc.constant('ret')), {
            maxLength: 4,
          }),
        ),
        returns: fc.option(fc.integer(), { nil: undefined }),
      }),
      targets: fc.array(
        fc.record({
          pattern: mostly(fc.constantFrom('tcp_*', 'm:f', 'a[bc]', 'x', 'y', 'z'), text),
          cookie: fc.option(
            mostly(
              fc.integer({ min: 0 }),
              fc.oneof(
                fc.integer({ min: -1 }),
                fc.bigInt({ min: 0n, max: 1n << 65n }).map(String),
                text,
              ),
            ),
            { nil: undefined },
          ),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      matchLabels: fc.option(labelMap, { nil: undefined }),
      waves: fc.option(
        mostly(
          fc.constantFrom([1, '100%'], ['10%', '100%'], ['100%']),
          fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), text, fc.constant('100%')), {
            minLength: 1,
            maxLength: 3,
          }),
        ),
        { nil: undefined },
      ),
      ratio: fc.option(
        mostly(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ noNaN: true })),
        { nil: undefined },
      ),
      pause: fc.option(
        mostly(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ noNaN: true })),
        { nil: undefined },
      ),
    });
    let accepted = 0;
    fc.assert(
      fc.property(arbInput, (a) => {
        const input = {
          apiVersion: 'tramway.dev/v1alpha1',
          kind: 'TracingPolicy',
          metadata: { name: a.name, labels: a.labels, annotations: a.annotations },
          spec: {
            program: {
              name: a.program.name,
              attach: a.program.attach,
              reads: a.program.reads,
              ...(a.program.origin === undefined ? {} : { origin: a.program.origin }),
              ...(a.program.object === undefined ? {} : { object: a.program.object }),
              ...(a.program.returns === undefined ? {} : { returns: a.program.returns }),
            },
            targets: a.targets
              .filter((t, i) => a.targets.findIndex((u) => u.pattern === t.pattern) === i)
              .map((t) => (t.cookie === undefined ? { pattern: t.pattern } : t)),
            ...(a.matchLabels === undefined
              ? {}
              : { nodeSelector: { matchLabels: a.matchLabels } }),
            rollout: {
              ...(a.waves === undefined ? {} : { waves: a.waves }),
              ...(a.ratio === undefined ? {} : { maxFailureRatio: a.ratio }),
              ...(a.pause === undefined ? {} : { pauseSeconds: a.pause }),
            },
          },
        };
        if (!domainOk(input)) return;
        accepted += 1;
        expect(TRACING_POLICY_SCHEMA.safeParse(input).error?.issues ?? []).toEqual([]);
      }),
      { numRuns: 2000 },
    );
    // the generator reaches valid policies often enough for the property to mean something
    expect(accepted).toBeGreaterThan(20);
  });
});
