/**
 * `tramway security init|add-node|issue-client` on real files: what each writes (modes, PEM,
 * NKeys, nodes.json), that nats-server accepts the configuration (`nats-server -c FILE -t`), that
 * the certificates chain to the CA with the names asked for, and that a running server applies
 * an added node on SIGHUP.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import {
  connectNats,
  connectNatsBus,
  loadNodeRegistry,
  natsCredentialsOf,
} from '@tramway/shared/infra';
import { publicKeyOfSeedFile } from '@tramway/shared/security';
import { runTramway } from '../../support/cli-io.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { startNatsServer } from '../../support/nats-server.js';

const NATS_SERVER =
  ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find(existsSync) ?? 'nats-server';

const temps: TempDir[] = [];
const tempDir = (): TempDir => {
  const t = makeTempDir('tramway-sec-cli-');
  temps.push(t);
  return t;
};
afterEach(() => {
  for (const t of temps.splice(0)) t.remove();
});

let scratch: TempDir | undefined;
/** one temp dir per test for loose files */
const root = (): TempDir => (scratch ??= tempDir());
afterEach(() => {
  scratch = undefined;
});

const mode = (file: string): number => statSync(file).mode & 0o777;

describe('tramway security init', () => {
  it('writes the CA, server certificate, identities, signing keys, registry and a valid nats-server.conf', async () => {
    const root = tempDir();
    const dir = join(root.path, 'sec');
    const result = await runTramway([
      'security',
      'init',
      '--dir',
      dir,
      '--nodes',
      'web-1,web-2',
      '--host',
      'nats',
      '--host=coordinator.example',
      '--nats-store',
      root.file('js'),
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(mode(dir)).toBe(0o700);
    for (const secret of [
      'ca.key',
      'server.key',
      'coordinator.nk',
      'nodes/web-1.nk',
      'nodes/web-2.nk',
      'assignment-signing.key',
    ])
      expect(mode(join(dir, secret)), secret).toBe(0o600);

    const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
    const server = new X509Certificate(readFileSync(join(dir, 'server.crt')));
    expect(ca.ca).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBeDefined();
    for (const host of ['localhost', 'nats', 'coordinator.example'])
      expect(server.checkHost(host), host).toBe(host);
    expect(server.checkHost('evil.example')).toBeUndefined();

    const registry = loadNodeRegistry(dir);
    expect([...registry.nodes.keys()]).toEqual(['web-1', 'web-2']);
    expect(registry.nodes.get('web-1')).toEqual({
      publicKey: publicKeyOfSeedFile(join(dir, 'nodes/web-1.nk')),
      autoApprove: false,
    });

    // the assignment-signing pair: PKCS#8 private, SPKI public, Ed25519
    const key = createPrivateKey(readFileSync(join(dir, 'assignment-signing.key')));
    const pub = createPublicKey(readFileSync(join(dir, 'assignment-signing.pub')));
    expect(key.asymmetricKeyType).toBe('ed25519');
    const signature = sign(null, Buffer.from('assignment'), key);
    expect(verify(null, Buffer.from('assignment'), pub, signature)).toBe(true);

    const conf = readFileSync(join(dir, 'nats-server.conf'), 'utf8');
    expect(conf).toContain(publicKeyOfSeedFile(join(dir, 'coordinator.nk')));
    expect(conf).toContain(
      'publish: { allow: ["tramway.factlog.web-2", "tramway.facts.web-2", "tramway.hb.web-2", ' +
        '"tramway.coord.assignment.web-2", ' +
        // the program bucket, read only
        '"$JS.API.STREAM.INFO.OBJ_tramway-programs", "$JS.API.STREAM.MSG.GET.OBJ_tramway-programs", ' +
        '"$JS.API.CONSUMER.CREATE.OBJ_tramway-programs", "$JS.API.CONSUMER.CREATE.OBJ_tramway-programs.>"] }',
    );
    expect(conf).toContain('subscribe: { allow: ["tramway.agent.web-2.>", "_INBOX_web-2.>"] }');
    expect(conf).not.toContain('max_payload');
    const test = spawnSync(NATS_SERVER, ['-c', join(dir, 'nats-server.conf'), '-t'], {
      encoding: 'utf8',
    });
    expect(test.status, test.stderr + test.stdout).toBe(0);
  });

  it('refuses an existing directory unless --force', async () => {
    const root = tempDir();
    writeFileSync(root.file('keep.txt'), 'mine');
    const refused = await runTramway(['security', 'init', '--dir', root.path, '--nodes', 'a']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/exists and is not empty.*--force/);
    expect(existsSync(root.file('ca.crt'))).toBe(false);
    const forced = await runTramway([
      'security',
      'init',
      '--dir',
      root.path,
      '--nodes',
      'a',
      '--auto-approve',
      '--force',
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(root.file('keep.txt'), 'utf8')).toBe('mine');
    expect(loadNodeRegistry(root.path).nodes.get('a')?.autoApprove).toBe(true);
  });

  it('refuses a node id that cannot be a subject token', async () => {
    const root = tempDir();
    const result = await runTramway([
      'security',
      'init',
      '--dir',
      root.file('s'),
      '--nodes',
      'a.b',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/node id "a.b" is not valid/);
  });
});

describe("docker-compose.yml's security step", () => {
  it('runs an init that works and gives nats-server a configuration it accepts', async () => {
    const compose = parse(
      readFileSync(join(import.meta.dirname, '../../../docker-compose.yml'), 'utf8'),
    ) as {
      services: Record<string, { command: string[] }>;
    };
    const line = compose.services['security']!.command.join(' ');
    const args = /tramway\.js (security init [^&)]*)/.exec(line)?.[1]?.trim().split(/\s+/);
    expect(args, line).toBeDefined();
    const root = tempDir();
    const dir = root.file('security');
    const argv = args!.map((a) => (a === '/security' ? dir : a));
    const result = await runTramway(argv);
    expect(result.code, result.stderr).toBe(0);
    const conf = readFileSync(join(dir, 'nats-server.conf'), 'utf8');
    expect(conf).toContain('listen: "0.0.0.0:4222"');
    expect(new X509Certificate(readFileSync(join(dir, 'server.crt'))).checkHost('nats')).toBe(
      'nats',
    );
    const test = spawnSync(NATS_SERVER, ['-c', join(dir, 'nats-server.conf'), '-t'], {
      encoding: 'utf8',
    });
    expect(test.status, test.stderr + test.stdout).toBe(0);
  });
});

describe('tramway security add-node and issue-client', () => {
  it('adds a node that a running server accepts after SIGHUP, and refuses it twice', async () => {
    const nats = await startNatsServer({ nodes: ['web-1'] });
    try {
      const dir = nats.securityDir!;
      const asWeb9 = () =>
        connectNatsBus(nats.url, { credentials: natsCredentialsOf(dir, { nodeId: 'web-9' }) });
      const added = await runTramway(['security', 'add-node', 'web-9', '--dir', dir]);
      expect(added.code, added.stderr).toBe(0);
      expect(added.stdout).toMatch(/nats-server --signal reload/);
      expect(mode(join(dir, 'nodes/web-9.nk'))).toBe(0o600);
      expect(loadNodeRegistry(dir).nodes.get('web-9')?.autoApprove).toBe(false);
      // not yet applied: the server still refuses the new identity
      await expect(asWeb9()).rejects.toThrow(/authorization violation/);
      const reloads = nats.log().split('Reloaded server configuration').length;
      process.kill(nats.pid, 'SIGHUP');
      await expect
        .poll(() => nats.log().split('Reloaded server configuration').length)
        .toBeGreaterThan(reloads);
      const bus = await asWeb9();
      await bus.publish('tramway.hb.web-9', { nodeId: 'web-9' });
      await bus.flush();
      await bus.close();
      const twice = await runTramway(['security', 'add-node', 'web-9', '--dir', dir]);
      expect(twice.code).toBe(1);
      expect(twice.stderr).toMatch(/node web-9 exists/);
    } finally {
      await nats.stop();
    }
  });

  it('revokes a node (remove-node) and rotates a seed (add-node --rotate): the old seed is closed out at reload', async () => {
    const nats = await startNatsServer({ nodes: ['web-1', 'web-2'] });
    try {
      const dir = nats.securityDir!;
      const as = (nodeId: string) =>
        connectNats(nats.url, {
          credentials: natsCredentialsOf(dir, { nodeId }),
          reconnect: false,
        });
      const reload = async () => {
        const reloads = nats.log().split('Reloaded server configuration').length;
        process.kill(nats.pid, 'SIGHUP');
        await expect
          .poll(() => nats.log().split('Reloaded server configuration').length)
          .toBeGreaterThan(reloads);
      };
      const web1 = await as('web-1');
      const oldWeb2Seed = readFileSync(join(dir, 'nodes/web-2.nk'), 'utf8');
      const web2 = await as('web-2');

      const removed = await runTramway(['security', 'remove-node', 'web-1', '--dir', dir]);
      expect(removed.code, removed.stderr).toBe(0);
      expect(existsSync(join(dir, 'nodes/web-1.nk'))).toBe(false);
      expect(loadNodeRegistry(dir).nodes.has('web-1')).toBe(false);
      const rotated = await runTramway(['security', 'add-node', 'web-2', '--rotate', '--dir', dir]);
      expect(rotated.code, rotated.stderr).toBe(0);
      expect(readFileSync(join(dir, 'nodes/web-2.nk'), 'utf8')).not.toBe(oldWeb2Seed);
      expect(loadNodeRegistry(dir).nodes.get('web-2')?.autoApprove).toBe(true);
      await reload();

      // the server closes the connections of the revoked and the replaced identities
      await web1.closed();
      await web2.closed();
      const oldSeedFile = root().file('old-web-2.nk');
      writeFileSync(oldSeedFile, oldWeb2Seed);
      await expect(
        connectNats(nats.url, {
          credentials: { nkeySeedFile: oldSeedFile, caFile: join(dir, 'ca.crt') },
        }),
      ).rejects.toThrow(/authorization violation/);
      // the new seed connects
      await (await as('web-2')).close();
      const gone = await runTramway(['security', 'remove-node', 'web-1', '--dir', dir]);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/node web-1 is not in/);
    } finally {
      await nats.stop();
    }
  });

  it("issues a person's client certificate: CN name, OU role, client auth, signed by the CA", async () => {
    const root = tempDir();
    expect((await runTramway(['security', 'init', '--dir', root.path])).code).toBe(0);
    const issued = await runTramway([
      'security',
      'issue-client',
      '--dir',
      root.path,
      '--name',
      'alice',
      '--role',
      'operator',
    ]);
    expect(issued.code, issued.stderr).toBe(0);
    const cert = new X509Certificate(readFileSync(root.file('clients/alice.crt')));
    expect(cert.subject.split('\n')).toEqual(expect.arrayContaining(['CN=alice', 'OU=operator']));
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
    expect(cert.verify(new X509Certificate(readFileSync(root.file('ca.crt'))).publicKey)).toBe(
      true,
    );
    expect(mode(root.file('clients/alice.key'))).toBe(0o600);
    const badRole = await runTramway([
      'security',
      'issue-client',
      '--dir',
      root.path,
      '--name',
      'bob',
      '--role',
      'root',
    ]);
    expect(badRole.code).toBe(2);
    const again = await runTramway([
      'security',
      'issue-client',
      '--dir',
      root.path,
      '--name',
      'alice',
      '--role',
      'viewer',
    ]);
    expect(again.code).toBe(1);
  });
});
