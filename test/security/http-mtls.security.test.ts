/**
 * The coordinator process serving its API over HTTPS with a client CA (TRAMWAY_API_TLS_CERT,
 * TRAMWAY_API_TLS_KEY, TRAMWAY_API_CLIENT_CA; the layout `tramway security init` writes), against
 * the attacks a certificate could carry: one of another CA, one whose OU is not a role, a viewer
 * certificate applying, and a plain-HTTP client. A verified operator certificate is recorded as
 * `cert:<CN>`. Refused requests leave the log unchanged. PKI made by the openssl CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { connectNatsBus } from '@tramway/shared/infra';
import type { FleetBus } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { Agent } from '../../services/agent/src/index.js';
import type { CoordinatorHandle } from '../support/fleet-processes.js';
import { readLog, spawnCoordinator, tracingPolicy } from '../support/fleet-processes.js';
import { startNatsServer } from '../support/nats-server.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import type { RawOptions } from '../support/raw-http.js';
import { rawRequest } from '../support/raw-http.js';
import { makeTempDir } from '../support/temp-dir.js';
import type { TempDir } from '../support/temp-dir.js';
import type { TestPki } from '../support/test-certs.js';
import { makeTestPki } from '../support/test-certs.js';
import { startSimAgent } from '../support/sim-agent.js';
import { waitUntil } from '../support/wait-until.js';

let dir: TempDir;
let pki: TestPki;
let nats: NatsServerHandle;
let coordinator: CoordinatorHandle;
let bus: FleetBus;
let agent: Agent;

const SPEC: KernelSpec = {
  profile: 'v24',
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: [{ name: 'tcp_sendmsg', ret: 'int', params: ['void *', 'void *', 'u64'] }],
    },
  ],
};

const as = (name: string | undefined, options: RawOptions = {}): RawOptions => ({
  ca: pki.pem(pki.caFile),
  ...(name === undefined
    ? {}
    : { cert: pki.pem(pki.client(name).certFile), key: pki.pem(pki.client(name).keyFile) }),
  ...options,
});
const apply = (name: string): RawOptions => ({
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ policy: tracingPolicy(name, { targets: ['tcp_*'] }) }),
});
const logIds = async (): Promise<string[]> =>
  (await readLog(nats.url, nats.credentials())).map((e) => e.id);

beforeAll(async () => {
  dir = makeTempDir('tramway-sec-mtls-');
  pki = makeTestPki(
    dir.file('pki'),
    { carol: 'operator', vic: 'viewer', odd: 'superuser' },
    { mallory: 'admin' },
  );
  nats = await startNatsServer({ nodes: ['web-1'] });
  coordinator = await spawnCoordinator({
    natsUrl: nats.url,
    securityDir: nats.securityDir,
    caFile: pki.caFile,
    env: {
      TRAMWAY_API_TLS_CERT: pki.serverCert,
      TRAMWAY_API_TLS_KEY: pki.serverKey,
      TRAMWAY_API_CLIENT_CA: pki.caFile,
    },
  });
  bus = await connectNatsBus(nats.url, {
    name: 'web-1',
    credentials: nats.credentials({ nodeId: 'web-1' }),
  });
  agent = await startSimAgent({ nodeId: 'web-1', bus, spec: SPEC, heartbeatMs: 200 });
  await waitUntil('web-1 registered', async () => {
    const r = await rawRequest(`${coordinator.url}/v1/nodes`, 'GET', as('vic'));
    return r.status === 200 && (r.body as { items: unknown[] }).items.length === 1;
  });
});

afterAll(async () => {
  await agent?.stop();
  await bus?.close();
  await coordinator?.stop();
  await nats?.stop();
  dir?.remove();
});

describe('client certificates at the HTTPS API (real coordinator process)', () => {
  it('refuses a certificate of another CA, an OU that is no role, a viewer applying: log unchanged', async () => {
    const before = await logIds();
    const foreign = await rawRequest(
      `${coordinator.url}/v1/policies`,
      'POST',
      as('mallory', apply('m')),
    );
    expect(foreign.status).toBe(401);
    const odd = await rawRequest(`${coordinator.url}/v1/policies`, 'POST', as('odd', apply('o')));
    expect(odd.status).toBe(401);
    expect(odd.body.detail).toMatch(/OU must be a role/);
    const viewer = await rawRequest(
      `${coordinator.url}/v1/policies`,
      'POST',
      as('vic', apply('v')),
    );
    expect(viewer.status).toBe(403);
    expect(viewer.body.detail).toMatch(/^cert:vic \(viewer\) may not POST/);
    expect(await logIds()).toEqual(before);
  });

  it('speaks no plain HTTP on its port', async () => {
    const port = new URL(coordinator.url).port;
    const answer = await new Promise<string>((resolve) => {
      const req = request(`http://127.0.0.1:${port}/v1/nodes`, (res) =>
        resolve(`HTTP ${res.statusCode}`),
      );
      req.on('error', (error) =>
        resolve(`error ${(error as NodeJS.ErrnoException).code ?? error.message}`),
      );
      req.end();
    });
    expect(answer).not.toBe('HTTP 200');
  });

  it('records a verified operator certificate as cert:<CN>', async () => {
    const r = await rawRequest(`${coordinator.url}/v1/policies`, 'POST', as('carol', apply('tcp')));
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const applied = (await readLog(nats.url, nats.credentials())).find(
      (e) => e.type === 'PolicyApplied',
    )!;
    expect(applied.metadata.actor).toBe('cert:carol');
  });
});
