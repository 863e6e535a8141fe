/**
 * docker-compose.yml and the root Dockerfile, checked without a Docker engine: the services
 * and their dependencies, and that every environment key is one the service's config really reads
 * (the service's own loadConfig accepts the whole environment, and each key is in its schema).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig as loadAgentConfig } from '../../../services/agent/src/config.js';
import { loadConfig as loadCoordinatorConfig } from '../../../services/coordinator/src/config.js';
import { requiredRole } from '../../../services/coordinator/src/http/access.js';

const ROOT = join(import.meta.dirname, '../../..');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  init?: boolean;
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
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
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

  it('builds the coordinator and the agents from the root Dockerfile, one target each', () => {
    const targets = new Set([...DOCKERFILE.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]!));
    for (const name of ['coordinator', ...agents]) {
      const build = services[name]!.build!;
      expect(build.context).toBe('.');
      expect(build.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
      const target = name === 'coordinator' ? 'coordinator' : 'agent';
      expect(build.target).toBe(target);
      expect(targets).toContain(target);
    }
    // the CLI (security init) runs from the build stage, which has tsx and the sources
    expect(services['security']!.build!.target).toBe('build');
    expect(targets).toContain('build');
  });

  it('has every service run under an init, and every long-running one a healthcheck', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.init, name).toBe(true);
      // the security step runs once to completion: the others wait for that, not for health
      if (name === 'security') continue;
      expect(service.healthcheck?.test[0], name).toMatch(/^CMD(-SHELL)?$/);
    }
    // the coordinator is checked on its liveness probe, which needs no token; the agents wait for it
    const check = services['coordinator']!.healthcheck!.test.join(' ');
    const path = /http:\/\/127\.0\.0\.1:(\d+)(\/\S+?)'/.exec(check);
    expect(path, check).not.toBeNull();
    expect(path![1]).toBe(services['coordinator']!.environment!['HTTP_PORT']);
    expect(path![2]).toBe('/healthz');
    expect(requiredRole('GET', path![2]!)).toBe('public');
    for (const agent of agents) {
      expect(services[agent]!.depends_on!['coordinator']).toEqual({ condition: 'service_healthy' });
      // an established connection (state 01) to the NATS port, 4222 = 0x107E
      const nats = new URL(services[agent]!.environment!['NATS_URL']!);
      const hex = Number(nats.port).toString(16).toUpperCase();
      expect(services[agent]!.healthcheck!.test.join(' '), agent).toContain(`:${hex} 01 `);
    }
  });
});

describe('Dockerfile', () => {
  const stage = (name: string): string => {
    const from = DOCKERFILE.search(new RegExp(`^FROM \\S+ AS ${name}$`, 'm'));
    expect(from, name).toBeGreaterThanOrEqual(0);
    const next = DOCKERFILE.slice(from + 1).search(/^FROM /m);
    return next < 0 ? DOCKERFILE.slice(from) : DOCKERFILE.slice(from, from + 1 + next);
  };

  it('installs every workspace from its manifest, and builds the JS with tsc -b', () => {
    const workspaces = [
      'shared',
      ...readdirSync(join(ROOT, 'services')).map((s) => `services/${s}`),
    ].filter((w) => existsSync(join(ROOT, w, 'package.json')));
    for (const w of workspaces) expect(DOCKERFILE, w).toContain(`COPY ${w}/package.json`);
    expect(stage('build')).toMatch(/^RUN with_ca npm ci\b/m);
    expect(stage('build')).toMatch(/^RUN npx tsc -b /m);
    expect(stage('prod-deps')).toMatch(/^RUN with_ca npm ci --omit=dev\b/m);
  });

  it("takes a proxy's CA as a build-arg of the npm ci stages only, never in the runtime", () => {
    for (const name of ['build', 'prod-deps'])
      expect(stage(name), name).toMatch(/^ARG NPM_EXTRA_CA=""$/m);
    expect(stage('base')).toMatch(/NODE_EXTRA_CA_CERTS="\$ca"/);
    // the runtime starts afresh FROM node:24-slim: no build-arg, no CA file, no wrapper
    for (const name of ['runtime', 'agent', 'coordinator']) {
      expect(stage(name), name).not.toContain('NPM_EXTRA_CA');
      expect(stage(name), name).not.toContain('with_ca');
    }
  });

  it("keeps the checkout's build output out of the context, at any depth", () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    // a tsbuildinfo copied in makes `tsc -b` in the image believe it is up to date: no dist/
    for (const pattern of ['**/node_modules', '**/dist', '**/*.tsbuildinfo'])
      expect(ignored, pattern).toContain(pattern);
  });

  it('runs node:24-slim with production dependencies only, under tini', () => {
    const runtime = stage('runtime');
    expect(runtime).toMatch(/^FROM node:24-slim AS runtime$/m);
    expect(runtime).toContain('COPY --from=prod-deps /app ./');
    expect(runtime).not.toMatch(/^RUN (with_ca )?npm ci\b/m);
    expect(runtime).toMatch(/apt-get install .*\btini\b/);
    expect(runtime).toContain('ENTRYPOINT ["/usr/bin/tini", "--"]');
    expect(runtime).toMatch(/^USER node$/m);
    // the CLI bin (which finds its bundle relative to its real path) as `tramway` on the PATH
    expect(runtime).toContain('ln -s /app/services/cli/bin/tramway.js /usr/local/bin/tramway');
    // what the built JS reads relative to itself at run time is in the image
    for (const dir of ['migrations', 'examples', 'services/agent/sim-kernels'])
      expect(runtime, dir).toMatch(new RegExp(`^COPY ${dir} ${dir}$`, 'm'));
  });

  it('gives each service target node on its built main.js, whose source exists', () => {
    for (const service of ['coordinator', 'agent']) {
      const target = stage(service);
      expect(target).toMatch(new RegExp(`^FROM runtime AS ${service}$`, 'm'));
      expect(target).toContain(`CMD ["node", "services/${service}/dist/main.js"]`);
      expect(DOCKERFILE).toContain(
        `COPY --from=build /app/services/${service}/dist services/${service}/dist`,
      );
      expect(existsSync(join(ROOT, `services/${service}/src/main.ts`))).toBe(true);
      // tsc's rootDir src / outDir dist: dist/main.js is what src/main.ts compiles to
      const tsconfig = readFileSync(join(ROOT, `services/${service}/tsconfig.json`), 'utf8');
      expect(tsconfig).toMatch(/"rootDir": "src", "outDir": "dist"/);
    }
  });
});
