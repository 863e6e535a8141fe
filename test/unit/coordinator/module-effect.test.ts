import { describe, expect, it } from 'vitest';
import {
  moduleEffect,
  reported,
} from '../../../services/coordinator/src/commands/module-effect.js';
import { renderModuleEffect } from '../../../services/cli/src/fleet/fleet-render.js';

type Node = Parameters<typeof moduleEffect>[2] & object;

const link = (linkId: number, policy: string | null, fns: readonly string[]) => ({
  linkId,
  programId: 1,
  programName: 'lat',
  policy,
  attachType: 'BPF_TRACE_FENTRY_MULTI' as const,
  connections: fns.map((f) => {
    const [module, fn] = f.includes(':') ? f.split(':') : [undefined, f];
    return { function: fn!, ...(module ? { module } : {}), objId: 1, btfId: 2, cookie: '0' };
  }),
  createdAt: '2026-12-02T10:00:00Z',
  createdBy: 'agent:web-2',
  createdPosition: 1,
});

const before: Node = {
  modules: {},
  links: { '1': link(1, 'tcp', ['tcp_sendmsg']) },
  reconciled: {
    tcp: {
      policy: 'tcp',
      version: 1,
      attached: 1,
      pending: [
        { function: 'nft_do_chain', module: 'nf_tables' },
        { function: 'nft_do_chain_ipv4', module: 'nf_tables' },
      ],
      rejected: [],
    },
  },
};
const after: Node = {
  modules: { nf_tables: { module: 'nf_tables', btfObjId: 9, loadedAt: 'x' } },
  // the multi-link was replaced by one with the module's functions too
  links: {
    '2': link(2, 'tcp', ['tcp_sendmsg', 'nf_tables:nft_do_chain']),
  },
  reconciled: {
    tcp: {
      policy: 'tcp',
      version: 1,
      attached: 2,
      pending: [],
      rejected: [{ function: 'nft_do_chain_ipv4', module: 'nf_tables', errno: 7, reason: 'E2BIG' }],
    },
  },
};

describe('moduleEffect', () => {
  it('lists what attached per policy (a replaced link is not a release), what failed, what waits', () => {
    const e = moduleEffect('nf_tables', 'load', before, after);
    expect(e).toEqual({
      module: 'nf_tables',
      action: 'load',
      moduleLoaded: true,
      attached: [{ policy: 'tcp', functions: ['nf_tables:nft_do_chain'] }],
      released: [],
      failed: [{ policy: 'tcp', function: 'nft_do_chain_ipv4', errno: 7, reason: 'E2BIG' }],
      pending: [],
    });
    expect(renderModuleEffect('web-2', e)).toBe(
      [
        'attached on web-2 (1 function(s) of nf_tables appeared):',
        '  tcp: nf_tables:nft_do_chain',
        'failed:',
        '  tcp: nft_do_chain_ipv4: errno 7: E2BIG',
        '',
      ].join('\n'),
    );
  });

  it('on unload lists what was released and what waits again', () => {
    const e = moduleEffect('nf_tables', 'unload', after, before);
    expect(e.released).toEqual([{ policy: 'tcp', functions: ['nf_tables:nft_do_chain'] }]);
    expect(e.moduleLoaded).toBe(false);
    expect(renderModuleEffect('web-2', e)).toContain(
      'released on web-2 (1 function(s)):\n  tcp: nf_tables:nft_do_chain\nstill pending (module not loaded):\n  tcp: nf_tables:nft_do_chain\n',
    );
    expect(renderModuleEffect('web-2', moduleEffect('m', 'load', before, before))).toBe(
      "nothing attached on web-2: no policy waited for m's functions\nstill pending (module not loaded):\n  tcp: nf_tables:nft_do_chain\n  tcp: nf_tables:nft_do_chain_ipv4\n",
    );
  });
});

describe('reported', () => {
  it('holds once the log shows the module state and exactly the links the agent holds', () => {
    expect(reported('nf_tables', 'load', after, { links: [{ linkId: 2 }] })).toBe(true);
    expect(reported('nf_tables', 'load', after, { links: [{ linkId: 2 }, { linkId: 3 }] })).toBe(
      false,
    );
    expect(reported('nf_tables', 'load', before, { links: [{ linkId: 1 }] })).toBe(false);
    expect(reported('nf_tables', 'unload', before, { links: [{ linkId: 1 }] })).toBe(true);
    expect(reported('nf_tables', 'load', undefined, { links: [] })).toBe(false);
  });
});
