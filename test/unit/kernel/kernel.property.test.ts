import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyOp, checkInvariants, dumpState } from '@tramway/shared/kernel';
import type { KernelOp, KernelState, OpOutcome } from '@tramway/shared/kernel';
import { kernelOf } from '../../support/kernel-fixtures.js';
import { opsArb, smallSpec, snapshot } from '../../support/kernel-arbitraries.js';

const replay = (initial: KernelState, ops: readonly KernelOp[]): KernelState =>
  ops.reduce((s, op) => applyOp(s, op).state, initial);

/**
 * Applies `ops` in order from `initial`; `check` sees each step's input state, the input's
 * snapshot taken before the step, and the step's outcome.
 */
const eachStep = (
  initial: KernelState,
  ops: readonly KernelOp[],
  check: (input: KernelState, before: string, outcome: OpOutcome) => void,
): void => {
  let s = initial;
  for (const op of ops) {
    const before = snapshot(s);
    const o = applyOp(s, op);
    check(s, before, o);
    s = o.state;
  }
};

/** Releases every link (unpin, close) and every program fd; each step must succeed. */
const releaseEverything = (s0: KernelState): KernelState => {
  let s = s0;
  const must = (op: KernelOp): void => {
    const o = applyOp(s, op);
    if (!o.ok) throw new Error(`cleanup ${op.op} failed: ${o.errno} ${o.reason}`);
    s = o.state;
  };
  for (const l of [...s0.links.values()]) {
    if (l.pinned) must({ op: 'link_unpin', link: l.id });
    if (s.links.get(l.id)?.fdOpen === true) must({ op: 'link_release', link: l.id });
  }
  for (const p of [...s.progs.values()]) if (p.loaded) must({ op: 'prog_release', prog: p.id });
  return s;
};

for (const profile of ['v24', 'v26'] as const) {
  for (const maxTrampLinks of [2, 3]) {
    const initial = kernelOf(smallSpec(profile, maxTrampLinks));

    describe(`kernel model properties, ${profile}, maxTrampLinks ${maxTrampLinks}`, () => {
      it('keeps every invariant after every step, and never mutates its input', () => {
        fc.assert(
          fc.property(opsArb(profile), (ops) => {
            eachStep(initial, ops, (input, before, o) => {
              expect(snapshot(input)).toBe(before);
              expect(checkInvariants(o.state)).toEqual([]);
            });
          }),
          { numRuns: 300 },
        );
      });

      it('a failed op returns the input state itself (all-or-nothing)', () => {
        fc.assert(
          fc.property(opsArb(profile), (ops) => {
            eachStep(initial, ops, (input, before, o) => {
              if (!o.ok) {
                expect(o.state).toBe(input);
                expect(snapshot(o.state)).toBe(before);
              }
            });
          }),
          { numRuns: 300 },
        );
      });

      it('replaying the same sequence gives a deep-equal state', () => {
        fc.assert(
          fc.property(opsArb(profile), (ops) => {
            expect(snapshot(replay(initial, ops))).toBe(snapshot(replay(initial, ops)));
            expect(dumpState(replay(initial, ops))).toEqual(dumpState(replay(initial, ops)));
          }),
          { numRuns: 200 },
        );
      });

      it('releasing every link and program returns trampolines and refcounts to the initial state', () => {
        fc.assert(
          fc.property(opsArb(profile), (ops) => {
            const end = releaseEverything(replay(initial, ops));
            const d = dumpState(end);
            expect(d.trampolines).toEqual([]);
            expect(d.links).toEqual([]);
            expect(d.progs).toEqual([]);
            expect(d.modules.map((m) => m.refcount)).toEqual(
              dumpState(initial).modules.map(() => 0),
            );
            expect([...end.btfRefcnt]).toEqual([]);
            expect(checkInvariants(end)).toEqual([]);
          }),
          { numRuns: 300 },
        );
      });
    });
  }
}
