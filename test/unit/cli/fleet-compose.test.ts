/**
 * docker-compose.yml and the service Dockerfiles, checked without a Docker engine: the services
 * and their dependencies, and that every environment key is one the service's config really reads
 * (the service's own loadConfig accepts the whole environment, and each key is in its schema).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig as loadAgentConfig } from '../../../services/agent/src/config.js';
import { loadConfig as loadCoordinatorConfig } from '../../../services/coordinator/src/config.js';

const ROOT = join(import.meta.dirname, '../../..');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  user?: string;
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: string[];
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const agents = Object.keys(services).filter((n) => n.startsWith('agent-'));

/** Keys of the zod schema in a service's config.ts (`  KEY: z.`). */
const schemaKeys = (service: string): Set<string> =>
  new Set(
    [
      ...readFileSync(join(ROOT, `services/${service}/src/config.ts`), 'utf8').matchAll(
        /^\s+([A-Z_]+):\s+z\b/gm,
      ),
    ].map((m) => m[1]!),
  );

describe('docker-compose.yml', () => {
  it('runs nats with JetStream and a healthcheck, the coordinator and three agents', () => {
    expect(Object.keys(services).sort()).toEqual([
      'agent-1',
      'agent-2',
      'agent-3',
      'coordinator',
      'nats',
      'security',
    ]);
    expect(services['nats']!.healthcheck!.test.join(' ')).toContain('/healthz');
  });

  it('makes the security material first; nats runs its configuration (TLS, NKey users, JetStream)', () => {
    const init = (services['security']!.command ?? []).join(' ');
    expect(init).toMatch(/tramway\.js security init --dir \/security/);
    for (const agent of agents) expect(init).toContain(services[agent]!.environment!['NODE_ID']!);
    expect(init).toContain('--host nats');
    expect(services['nats']!.depends_on!['security']).toEqual({
      condition: 'service_completed_successfully',
    });
    expect(services['nats']!.command).toEqual(
      expect.arrayContaining(['-c', '/security/nats-server.conf']),
    );
    for (const name of ['nats', 'coordinator'])
      expect(services[name]!.volumes, name).toContain('security:/security:ro');
    // an agent mounts only its own seed's volume, never the whole security directory
    for (const agent of agents) {
      const volume = `${agent}-security`;
      expect(services[agent]!.volumes, agent).toContain(`${volume}:/security:ro`);
      expect(services[agent]!.volumes!.join(' '), agent).not.toMatch(/(^| )security:/);
      expect(compose.volumes).toHaveProperty(volume);
      expect(services['security']!.volumes).toContain(`${volume}:/${agent}`);
    }
    for (const name of ['coordinator', ...agents])
      expect(services[name]!.environment!['TRAMWAY_SECURITY_DIR'], name).toBe('/security');
  });

  it('publishes ports on 127.0.0.1 only', () => {
    const published = Object.values(services).flatMap((s) => s.ports ?? []);
    expect(published.length).toBeGreaterThan(0);
    for (const port of published) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('starts the coordinator and the agents once nats is healthy', () => {
    for (const name of ['coordinator', ...agents])
      expect(services[name]!.depends_on!['nats']).toEqual({ condition: 'service_healthy' });
  });

  it('gives every agent its own NODE_ID, labels and state volume', () => {
    const env = agents.map((a) => services[a]!.environment!);
    expect(new Set(env.map((e) => e['NODE_ID'])).size).toBe(3);
    expect(new Set(env.map((e) => e['NODE_LABELS'])).size).toBe(3);
    const volumes = agents.map((a) => services[a]!.volumes![0]!.split(':')[0]!);
    expect(new Set(volumes).size).toBe(3);
    for (const v of volumes) expect(compose.volumes).toHaveProperty(v);
  });

  it('sets only environment keys the coordinator reads, and its config accepts them', () => {
    const env = services['coordinator']!.environment!;
    const keys = schemaKeys('coordinator');
    for (const key of Object.keys(env)) expect(keys, key).toContain(key);
    const config = loadCoordinatorConfig(env);
    expect(config.NATS_URL).toBe('nats://nats:4222');
    expect(config.HTTP_HOST).toBe('0.0.0.0');
    expect(services['coordinator']!.ports).toContain(
      `127.0.0.1:${config.HTTP_PORT}:${config.HTTP_PORT}`,
    );
  });

  it('sets only environment keys the agents read, and their config accepts them', () => {
    const keys = schemaKeys('agent');
    for (const agent of agents) {
      const env = services[agent]!.environment!;
      for (const key of Object.keys(env)) expect(keys, `${agent}: ${key}`).toContain(key);
      const config = loadAgentConfig(env);
      expect(config.natsUrl).toBe('nats://nats:4222');
      expect(config.kernel).toBe('sim');
      // the image has the repository at /app: the sim kernel spec must exist in the repository
      expect(
        existsSync(join(ROOT, config.simKernel.replace(/^\/app\//, ''))),
        config.simKernel,
      ).toBe(true);
    }
  });

  it('builds each service from its Dockerfile, which installs every workspace and runs its main.ts', () => {
    const workspaces = [
      'shared',
      ...readdirSync(join(ROOT, 'services')).map((s) => `services/${s}`),
    ].filter((w) => existsSync(join(ROOT, w, 'package.json')));
    for (const name of ['coordinator', ...agents]) {
      const build = services[name]!.build!;
      expect(build.context).toBe('.');
      const dockerfile = readFileSync(join(ROOT, build.dockerfile), 'utf8');
      expect(dockerfile).toMatch(/^FROM node:20/m);
      expect(dockerfile).toMatch(/^RUN npm ci/m);
      for (const w of workspaces)
        expect(dockerfile, `${build.dockerfile}: ${w}`).toContain(`COPY ${w}/package.json`);
      const service = name === 'coordinator' ? 'coordinator' : 'agent';
      expect(build.dockerfile).toBe(`services/${service}/Dockerfile`);
      expect(dockerfile).toContain(`"services/${service}/src/main.ts"`);
      expect(existsSync(join(ROOT, `services/${service}/src/main.ts`))).toBe(true);
    }
  });
});
