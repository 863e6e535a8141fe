/**
 * The HTTP API over HTTPS with client certificates (docs/security.md, "mTLS"): a real coordinator
 * HTTPS server, a PKI made by the openssl CLI, the in-process bus, a real SQLite log and a scripted
 * agent. A verified certificate's CN is the actor (`cert:<CN>`), its OU the role; a certificate
 * of another CA is no credential; bearer tokens still work over HTTPS; the CLI speaks it with
 * --ca-file, --cert and --key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteEventStore, createInProcessBus } from '@tramway/shared/infra';
import type { FleetBus } from '@tramway/shared/infra';
import type { RecordedEvent } from '@tramway/shared/lib';
import { createCoordinator } from '../../../services/coordinator/src/app.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { runTramway } from '../../support/cli-io.js';
import type { RawOptions } from '../../support/raw-http.js';
import { rawRequest } from '../../support/raw-http.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import type { TestPki } from '../../support/test-certs.js';
import { makeTestPki } from '../../support/test-certs.js';
import { waitUntil } from '../../support/wait-until.js';
import { createScriptedAgent } from '../coordinator/scripted-agent.js';
import type { ScriptedAgent } from '../coordinator/scripted-agent.js';

let dir: TempDir;
let pki: TestPki;
let store: SqliteEventStore;
let bus: FleetBus;
let coordinator: Coordinator;
let agent: ScriptedAgent;

const as = (name: string | undefined, options: RawOptions = {}): RawOptions => ({
  ca: pki.pem(pki.caFile),
  ...(name === undefined
    ? {}
    : {
        cert: pki.pem(pki.client(name).certFile),
        key: pki.pem(pki.client(name).keyFile),
      }),
  ...options,
});
const call = (method: string, path: string, options: RawOptions) =>
  rawRequest(`${coordinator.url}${path}`, method, options);
const policyBody = (name: string) =>
  JSON.stringify({
    policy: {
      apiVersion: 'tramway.dev/v1alpha1',
      kind: 'TracingPolicy',
      metadata: { name },
      spec: { program: { name: 'tcp_lat', attach: 'fentry' }, targets: [{ pattern: 'tcp_*' }] },
    },
  });
const json = { 'content-type': 'application/json' };

const allEvents = async (): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
};

beforeAll(async () => {
  dir = makeTempDir('tramway-mtls-');
  pki = makeTestPki(
    dir.file('pki'),
    { carol: 'operator', vic: 'viewer', odd: 'root' },
    { mallory: 'admin' },
  );
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  bus = createInProcessBus();
  coordinator = createCoordinator({
    bus,
    store,
    clock: { now: () => new Date() },
    http: {
      host: '127.0.0.1',
      port: 0,
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caFile },
      adminTokenFile: dir.file('data/admin.token'),
    },
    options: { tickMs: 25, driftIntervalMs: 0, requestTimeoutMs: 2000 },
  });
  await coordinator.start();
  agent = createScriptedAgent(bus, { nodeId: 'node-01', labels: { role: 'web' } });
  await agent.start();
  await waitUntil('agent registered', () => coordinator.core.fleet().nodes['node-01']?.registered);
});

afterAll(async () => {
  await agent?.stop();
  await coordinator?.stop();
  await bus?.close();
  await store?.close();
  dir?.remove();
});

describe('the HTTP API over HTTPS with client certificates', () => {
  it('serves https and takes a verified certificate as the actor cert:<CN> with its OU as role', async () => {
    expect(coordinator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const applied = await call(
      'POST',
      '/v1/policies',
      as('carol', { headers: json, body: policyBody('tcp') }),
    );
    expect(applied.status, JSON.stringify(applied.body)).toBe(202);
    const event = (await allEvents()).find((e) => e.type === 'PolicyApplied')!;
    expect(event.metadata.actor).toBe('cert:carol');
  });

  it('holds a viewer certificate to reads', async () => {
    expect((await call('GET', '/v1/nodes', as('vic'))).status).toBe(200);
    const r = await call(
      'POST',
      '/v1/policies',
      as('vic', { headers: json, body: policyBody('v') }),
    );
    expect(r.status).toBe(403);
    expect(r.body.detail).toBe(
      'cert:vic (viewer) may not POST /v1/policies: it needs the operator role',
    );
  });

  it('refuses a certificate of another CA, one whose OU is no role, and no credential (401)', async () => {
    const before = (await allEvents()).length;
    const foreign = await call(
      'POST',
      '/v1/policies',
      as('mallory', { headers: json, body: policyBody('m') }),
    );
    expect(foreign.status).toBe(401);
    const odd = await call('GET', '/v1/nodes', as('odd'));
    expect(odd.status).toBe(401);
    expect(odd.body.detail).toMatch(/OU must be a role/);
    const none = await call('GET', '/v1/nodes', as(undefined));
    expect(none.status).toBe(401);
    expect(none.body.detail).toMatch(/or a client certificate/);
    expect((await allEvents()).length).toBe(before);
  });

  it('still takes a bearer token over HTTPS, and the Host check uses the https port', async () => {
    const token = coordinator.adminToken()!;
    const r = await call(
      'GET',
      '/v1/tokens',
      as(undefined, { headers: { authorization: `Bearer ${token}` } }),
    );
    expect(r.status).toBe(200);
    const foreign = await call(
      'GET',
      '/v1/nodes',
      as('carol', { headers: { host: 'evil.example' } }),
    );
    expect(foreign.status).toBe(421);
  });

  it('is reached by the CLI with --ca-file and a client certificate, or a token', async () => {
    const carol = pki.client('carol');
    const withCert = await runTramway(
      [
        'nodes',
        '--json',
        '--url',
        coordinator.url,
        '--ca-file',
        pki.caFile,
        '--cert',
        carol.certFile,
        '--key',
        carol.keyFile,
      ],
      { cwd: dir.path },
    );
    expect(withCert.stderr).toBe('');
    expect(withCert.code).toBe(0);
    expect((JSON.parse(withCert.stdout) as { nodeId: string }[]).map((n) => n.nodeId)).toEqual([
      'node-01',
    ]);
    const withToken = await runTramway(['token', 'list', '--url', coordinator.url], {
      cwd: dir.path,
      env: { TRAMWAY_CA_FILE: pki.caFile, TRAMWAY_TOKEN: coordinator.adminToken()! },
    });
    expect(withToken.code).toBe(0);
    expect(withToken.stdout).toMatch(/^admin\s+admin\s+active/m);
    // without the CA the server's certificate is not trusted: unreachable, exit 69
    const untrusted = await runTramway(['nodes', '--url', coordinator.url], {
      cwd: dir.path,
      env: { TRAMWAY_TOKEN: coordinator.adminToken()! },
    });
    expect(untrusted.code).toBe(69);
  });
});
