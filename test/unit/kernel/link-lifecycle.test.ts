import { describe, expect, it } from 'vitest';
import { dumpState } from '@tramway/shared/kernel';
import {
  connectionsOf,
  fixtureSpec,
  given,
  link,
  load,
  moduleRefcount,
  trampolineOf,
  trampRecord,
  ts,
} from '../../support/kernel-fixtures.js';

for (const profile of ['v24', 'v26'] as const) {
  const spec = fixtureSpec(profile);
  const multi = profile === 'v24' ? load('m', 'fentry.multi', 'f1') : load('m', 'fentry.multi');

  describe(`single tracing links, ${profile} (spec §3.12.8, ML)`, () => {
    it('takes over the load-time trampoline: refcount stays 1', () => {
      const { state, value } = given(spec, load('p', 'fentry', 'f1'))
        .when(link(1, []))
        .thenOk();
      expect(trampRecord(state, 'f1')?.refcnt).toBe(1);
      expect(connectionsOf(value)).toEqual([
        { function: 'f1', objId: 1, btfId: expect.any(Number) as number, cookie: 0n },
      ]);
    });
    it('accepts the origin named as target and one cookie', () => {
      const { value } = given(spec, load('p', 'fentry', 'f1'))
        .when(link(1, ts('f1'), [5n]))
        .thenOk();
      expect(connectionsOf(value)[0]?.cookie).toBe(5n);
    });
    it('rejects a link-time target other than the origin (only freplace re-targets): EINVAL', () => {
      given(spec, load('p', 'fentry', 'f1'))
        .when(link(1, ts('f2')))
        .thenRejects('EINVAL');
    });
    it('a second simultaneous link of the same program to the same function is EBUSY (§3.4.4)', () => {
      given(spec, load('p', 'fentry', 'f1'), link(1, []))
        .when(link(1, []))
        .thenRejects('EBUSY');
    });
    it('re-attach after the link is released is allowed (vector 61)', () => {
      const { state } = given(spec, load('p', 'fentry', 'f1'), link(1, []), {
        op: 'link_release',
        link: 1,
      })
        .when(link(1, []))
        .thenOk();
      expect(trampRecord(state, 'f1')?.refcnt).toBe(1);
    });
    it('re-attach re-checks the target: a going origin module gives ENOENT', () => {
      given(
        spec,
        load('p', 'fentry', 'M:m1'),
        link(1, []),
        { op: 'link_release', link: 1 },
        {
          op: 'module_set_state',
          module: 'M',
          state: 'going',
        },
      )
        .when(link(1, []))
        .thenRejects('ENOENT');
    });
    it('fentry, fexit and fmod_ret of different programs share one budget (§9.3)', () => {
      const s = fixtureSpec(profile, { maxTrampLinks: 2 });
      given(
        s,
        load('a', 'fentry', 'err_inj_a'),
        link(1, []),
        load('b', 'fexit', 'err_inj_a'),
        link(2, []),
      )
        .when(load('c', 'fmod_ret', 'err_inj_a'))
        .thenOk();
      given(
        s,
        load('a', 'fentry', 'err_inj_a'),
        link(1, []),
        load('b', 'fexit', 'err_inj_a'),
        link(2, []),
        load('c', 'fmod_ret', 'err_inj_a'),
      )
        .when(link(3, []))
        .thenRejects('E2BIG');
    });
  });

  describe(`link release, pin, detach, update, ${profile} (spec §4.1)`, () => {
    const attached = [multi, link(1, ts('f1', 'f2'))] as const;
    it('release unlinks every connection and frees the trampolines no one else holds', () => {
      const { state } = given(spec, ...attached)
        .when({ op: 'link_release', link: 1 })
        .thenOk();
      const tramps = dumpState(state).trampolines;
      expect(tramps.every((x) => x.fentry.length === 0)).toBe(true);
      expect(dumpState(state).links).toEqual([]);
    });
    it('a pinned link survives fd close and goes away at unpin', () => {
      const g = given(
        spec,
        ...attached,
        { op: 'link_pin', link: 1 },
        { op: 'link_release', link: 1 },
      );
      expect(trampolineOf(g.state, 'f2')?.fentry).toHaveLength(1);
      const { state } = g.when({ op: 'link_unpin', link: 1 }).thenOk();
      expect(trampolineOf(state, 'f2')).toBeUndefined();
    });
    it('unpin with the fd still open keeps the link; release afterwards destroys it', () => {
      const g = given(
        spec,
        ...attached,
        { op: 'link_pin', link: 1 },
        { op: 'link_unpin', link: 1 },
      );
      expect(dumpState(g.state).links).toHaveLength(1);
      const { state } = g.when({ op: 'link_release', link: 1 }).thenOk();
      expect(dumpState(state).links).toEqual([]);
    });
    it('pinning twice is EEXIST; unpinning an unpinned link is ENOENT; a closed fd is EBADF', () => {
      given(spec, ...attached, { op: 'link_pin', link: 1 })
        .when({ op: 'link_pin', link: 1 })
        .thenRejects('EEXIST');
      given(spec, ...attached)
        .when({ op: 'link_unpin', link: 1 })
        .thenRejects('ENOENT');
      given(spec, ...attached, { op: 'link_pin', link: 1 }, { op: 'link_release', link: 1 })
        .when({ op: 'link_release', link: 1 })
        .thenRejects('EBADF');
    });
    it('unknown link ids are EBADF for every link op', () => {
      const g = given(spec, ...attached);
      for (const op of ['link_release', 'link_pin', 'link_unpin', 'link_detach'] as const)
        g.when({ op, link: 9 }).thenRejects('EBADF');
      g.when({ op: 'link_update', link: 9, prog: 1 }).thenRejects('EBADF');
      g.when({ op: 'fdinfo', link: 9 }).thenRejects('EBADF');
    });
    it('detach on a multi link is EOPNOTSUPP; update is EINVAL (vector 41)', () => {
      const g = given(spec, ...attached, load('q', 'fentry', 'f3'));
      g.when({ op: 'link_detach', link: 1 }).thenRejects('EOPNOTSUPP');
      g.when({ op: 'link_update', link: 1, prog: 2 }).thenRejects('EINVAL');
      g.when({ op: 'link_update', link: 1, prog: 9 }).thenRejects('EBADF');
    });
    it('single tracing links have no detach or update either', () => {
      const g = given(spec, load('p', 'fentry', 'f1'), link(1, []), load('q', 'fentry', 'f1'));
      g.when({ op: 'link_detach', link: 1 }).thenRejects('EOPNOTSUPP');
      g.when({ op: 'link_update', link: 1, prog: 2 }).thenRejects('EINVAL');
    });
  });

  describe(`program release, ${profile} (spec §1.3, §4.1)`, () => {
    it('a program held by a link stays (loaded: false) and is freed with the link', () => {
      const g = given(spec, multi, link(1, ts('f1')), { op: 'prog_release', prog: 1 });
      expect(dumpState(g.state).progs).toEqual([{ id: 1, name: 'm', loaded: false }]);
      const { state } = g.when({ op: 'link_release', link: 1 }).thenOk();
      expect(dumpState(state).progs).toEqual([]);
      expect(dumpState(state).trampolines).toEqual([]);
    });
    it('releasing a program twice is EBADF', () => {
      given(spec, multi, { op: 'prog_release', prog: 1 })
        .when({ op: 'prog_release', prog: 1 })
        .thenRejects('EBADF');
    });
    it('a released-but-held program cannot be linked again (no fd): EBADF', () => {
      given(spec, multi, link(1, ts('f1')), { op: 'prog_release', prog: 1 })
        .when(link(1, ts('f2')))
        .thenRejects('EBADF');
    });
  });

  describe(`modules, ${profile} (spec §4.2)`, () => {
    it('unload of an unreferenced module succeeds; its functions then do not resolve (ESRCH)', () => {
      const { state } = given(spec).when({ op: 'module_unload', module: 'M' }).thenOk();
      expect(dumpState(state).modules.find((m) => m.name === 'M')).toEqual({
        name: 'M',
        state: 'unloaded',
        refcount: 0,
      });
      given(state)
        .when(load('p', 'fentry', 'M:m1'))
        .thenRejects('ESRCH');
    });
    it('module_load gives a NEW BTF object id', () => {
      const g = given(
        spec,
        { op: 'module_unload', module: 'M' },
        { op: 'module_load', module: 'M' },
      );
      const { value } = given(g.state, load('p', 'fentry', 'M:m1'))
        .when(link(1, []))
        .thenOk();
      // vmlinux 1, M 2, N 3, (L not loaded), ubtf 4 → the reloaded M gets 5
      expect(connectionsOf(value)[0]?.objId).toBe(5);
    });
    it('module_load of a loaded module is EEXIST; of an unknown module ENOENT; of vmlinux EINVAL', () => {
      given(spec).when({ op: 'module_load', module: 'M' }).thenRejects('EEXIST');
      given(spec).when({ op: 'module_load', module: 'Z' }).thenRejects('ENOENT');
      given(spec).when({ op: 'module_load', module: 'vmlinux' }).thenRejects('EINVAL');
    });
    it('an initially unloaded module can be loaded and used', () => {
      const { state } = given(spec, { op: 'module_load', module: 'L' })
        .when(load('p', 'fentry', 'l1'))
        .thenOk();
      expect(moduleRefcount(state, 'L')).toBe(1);
    });
    it('unloading an unloaded module is ENOENT; set_state on it is ENOENT', () => {
      given(spec).when({ op: 'module_unload', module: 'L' }).thenRejects('ENOENT');
      given(spec)
        .when({ op: 'module_set_state', module: 'L', state: 'going' })
        .thenRejects('ENOENT');
    });
    it('a going module can become live again and be attached', () => {
      given(
        spec,
        { op: 'module_set_state', module: 'M', state: 'going' },
        { op: 'module_set_state', module: 'M', state: 'live' },
      )
        .when(load('p', 'fentry', 'M:m1'))
        .thenOk();
    });
  });
}
