/**
 * deploy/systemd: the coordinator's and the agent's units and their environment-file templates.
 * Every environment key they set (Environment= lines, the template's lines, commented or not) is
 * one the service's config really reads, and the config accepts what they set; the units are
 * hardened as their comments say; systemd-analyze (when the machine has it) finds nothing wrong.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig as loadAgentConfig } from '../../../services/agent/src/config.js';
import { loadConfig as loadCoordinatorConfig } from '../../../services/coordinator/src/config.js';

const ROOT = join(import.meta.dirname, '../../..');
const DIR = join(ROOT, 'deploy/systemd');
const SERVICES = ['coordinator', 'agent'] as const;

/** Keys of the zod schema in a service's config.ts (`  KEY: z.`). */
const schemaKeys = (service: string): Set<string> =>
  new Set(
    [
      ...readFileSync(join(ROOT, `services/${service}/src/config.ts`), 'utf8').matchAll(
        /^\s+([A-Z_]+):\s+z\b/gm,
      ),
    ].map((m) => m[1]!),
  );

/** `[Section]` → directive → values, in order (a directive may repeat). */
const parseUnit = (text: string): Map<string, Map<string, string[]>> => {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    expect(current, line).toBeDefined();
    expect(eq, line).toBeGreaterThan(0);
    const key = line.slice(0, eq);
    current!.set(key, [...(current!.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
};

const unitOf = (service: string) =>
  parseUnit(readFileSync(join(DIR, `tramway-${service}.service`), 'utf8'));
const serviceSection = (service: string) => unitOf(service).get('Service')!;

/** The unit's Environment= assignments. */
const unitEnv = (service: string): Record<string, string> =>
  Object.fromEntries(
    (serviceSection(service).get('Environment') ?? []).map((a) => {
      const eq = a.indexOf('=');
      return [a.slice(0, eq), a.slice(eq + 1)];
    }),
  );

/** The template's assignments: `set` the active lines, `all` the commented-out ones too. */
const templateEnv = (service: string) => {
  const set: Record<string, string> = {};
  const all: Record<string, string> = {};
  for (const line of readFileSync(join(DIR, `${service}.env`), 'utf8').split('\n')) {
    const m = /^(#)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    all[m[2]!] = m[3]!;
    if (m[1] === undefined) set[m[2]!] = m[3]!;
  }
  return { set, all };
};

describe('deploy/systemd units', () => {
  for (const service of SERVICES) {
    describe(`tramway-${service}.service`, () => {
      it('sets only environment keys the service reads, TRAMWAY_SECURITY_DIR among them', () => {
        const keys = schemaKeys(service);
        const env = { ...unitEnv(service), ...templateEnv(service).all };
        expect(Object.keys(env).length).toBeGreaterThan(5);
        for (const key of Object.keys(env)) expect(keys, key).toContain(key);
        expect(unitEnv(service)['TRAMWAY_SECURITY_DIR']).toBe('/etc/tramway/security');
      });

      it('reads its template from /etc/tramway, after its own defaults, and the config accepts both', () => {
        const section = serviceSection(service);
        expect(section.get('EnvironmentFile')).toEqual([`/etc/tramway/${service}.env`]);
        const merged = { ...unitEnv(service), ...templateEnv(service).set };
        const load = service === 'agent' ? loadAgentConfig : loadCoordinatorConfig;
        expect(() => load(merged)).not.toThrow();
        // every commented-out example is a value the config accepts too
        expect(() => load({ ...merged, ...templateEnv(service).all })).not.toThrow();
      });

      it('runs node on the built main.js as the tramway user, its state in a StateDirectory', () => {
        const section = serviceSection(service);
        expect(section.get('ExecStart')).toEqual([
          `/usr/bin/node services/${service}/dist/main.js`,
        ]);
        expect(section.get('WorkingDirectory')).toEqual(['/opt/tramway']);
        expect(existsSync(join(ROOT, `services/${service}/src/main.ts`))).toBe(true);
        expect(section.get('User')).toEqual(['tramway']);
        expect(section.get('KillSignal')).toEqual(['SIGTERM']);
        expect(section.get('StateDirectory')).toEqual([`tramway/${service}`]);
        const stateKey = service === 'agent' ? 'STATE_DIR' : 'DATA_DIR';
        expect(unitEnv(service)[stateKey]).toBe(`/var/lib/tramway/${service}`);
        expect(unitOf(service).get('Install')!.get('WantedBy')).toEqual(['multi-user.target']);
      });

      it('is hardened: no new privileges, a read-only system, private /tmp and devices', () => {
        const section = serviceSection(service);
        for (const [directive, value] of [
          ['NoNewPrivileges', 'yes'],
          ['ProtectSystem', 'strict'],
          ['ProtectHome', 'yes'],
          ['PrivateTmp', 'yes'],
          ['PrivateDevices', 'yes'],
          ['ProtectKernelModules', 'yes'],
          ['RestrictSUIDSGID', 'yes'],
          ['RestrictNamespaces', 'yes'],
          ['UMask', '0077'],
        ] as const)
          expect(section.get(directive), directive).toEqual([value]);
      });
    });
  }

  it('gives the coordinator no capability and the agent only the BPF ones', () => {
    const coordinator = serviceSection('coordinator');
    expect(coordinator.get('CapabilityBoundingSet')).toEqual(['']);
    expect(coordinator.get('AmbientCapabilities')).toEqual(['']);
    const agent = serviceSection('agent');
    const bpf = ['CAP_BPF CAP_PERFMON CAP_SYS_ADMIN'];
    expect(agent.get('CapabilityBoundingSet')).toEqual(bpf);
    expect(agent.get('AmbientCapabilities')).toEqual(bpf);
    expect(agent.get('SystemCallFilter')![0]).toMatch(/\bbpf\b.*\bperf_event_open\b/);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  it.skipIf(analyze.status !== 0)('passes systemd-analyze verify without a warning', () => {
    const run = spawnSync(
      'systemd-analyze',
      ['verify', ...SERVICES.map((s) => join(DIR, `tramway-${s}.service`))],
      { encoding: 'utf8' },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
