import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { draftMap, emptyPersistentMap } from '../../../shared/src/kernel/persistent-map.js';
import type { PersistentMap } from '../../../shared/src/kernel/persistent-map.js';

type Cmd =
  | { kind: 'set'; key: string; value: number }
  | { kind: 'delete'; key: string }
  | { kind: 'commit' };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    key: fc.string({ maxLength: 3 }),
    value: fc.integer(),
  }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.string({ maxLength: 3 }) }),
  fc.constant({ kind: 'commit' as const }),
);

describe('PersistentMap', () => {
  it('behaves like a Map through drafts and commits, and never changes an older version', () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { maxLength: 60 }), (cmds) => {
        const model = new Map<string, number>();
        let version: PersistentMap<string, number> = emptyPersistentMap();
        const history: [PersistentMap<string, number>, Map<string, number>][] = [
          [version, new Map()],
        ];
        let draft = draftMap(version);
        for (const c of cmds) {
          if (c.kind === 'set') {
            draft.set(c.key, c.value);
            model.set(c.key, c.value);
          } else if (c.kind === 'delete') {
            draft.delete(c.key);
            model.delete(c.key);
          } else {
            version = draft.finish();
            history.push([version, new Map(model)]);
            draft = draftMap(version);
          }
          expect(draft.size).toBe(model.size);
        }
        for (const [v, m] of history) {
          expect(v.size).toBe(m.size);
          expect(new Map(v)).toEqual(m);
          for (const k of m.keys()) expect(v.get(k)).toBe(m.get(k));
        }
      }),
    );
  });
  it('converts a plain Map when drafting from one', () => {
    const d = draftMap(new Map([['a', 1]]));
    d.set('b', 2);
    expect(new Map(d.finish())).toEqual(
      new Map([
        ['a', 1],
        ['b', 2],
      ]),
    );
  });
  it('deep equality sees contents (replay comparisons rely on it)', () => {
    const a = draftMap(emptyPersistentMap<string, number>());
    a.set('x', 1);
    const b = draftMap(emptyPersistentMap<string, number>());
    b.set('x', 2);
    const c = draftMap(emptyPersistentMap<string, number>());
    c.set('x', 1);
    const [va, vb, vc] = [a.finish(), b.finish(), c.finish()];
    expect(va).not.toEqual(vb);
    expect(va).toEqual(vc);
  });
});
