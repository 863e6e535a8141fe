/**
 * Makes and extends a security directory (docs/security.md): a CA, the server certificate, the
 * NKey identities of the coordinator and of each node, the Ed25519 assignment-signing key pair,
 * the node registry and the nats-server configuration; client certificates of people on demand.
 * Secrets are written mode 0600 in a 0700 directory.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { isSubjectSafeNodeId } from '../../contracts/index.js';
import { AppError } from '../errors.js';
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  loadCertificateAuthority,
} from './certificates.js';
import { renderNatsServerConf } from './nats-server-conf.js';
import type { NodeRegistry, NodeRegistryEntry } from './security-layout.js';
import { SecurityErrorCode, SecurityFiles, loadNodeRegistry } from './security-layout.js';

const SECRET = 0o600;
const PUBLIC = 0o644;
const DIR = 0o700;

/** The roles of people on the HTTP API. */
export const CLIENT_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ClientRole = (typeof CLIENT_ROLES)[number];

const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** How nats-server.conf is rendered (kept in settings.json so add-node renders the same). */
export interface NatsServerSettings {
  /** `host:port` nats-server listens on (default 127.0.0.1:4222) */
  readonly listen: string;
  /** JetStream store directory as nats-server sees it */
  readonly storeDir: string;
  /** where this directory is as nats-server sees it (a container's mount point); default: itself */
  readonly mountDir: string;
  /** `host:port` of the monitoring endpoint, when wanted */
  readonly monitor?: string;
}

export interface InitSecurityOptions {
  readonly dir: string;
  readonly nodes: readonly string[];
  /** the nodes are admitted on first registration without approval */
  readonly autoApprove?: boolean;
  /** names the server certificate carries besides 127.0.0.1, ::1 and localhost */
  readonly hosts?: readonly string[];
  readonly nats?: Partial<NatsServerSettings>;
  /** replaces the files of an existing directory */
  readonly force?: boolean;
  readonly now?: Date;
}

export interface SecurityDirSummary {
  readonly dir: string;
  readonly coordinatorPublicKey: string;
  readonly nodes: ReadonlyMap<string, NodeRegistryEntry>;
}

const failure = (code: string, message: string): AppError =>
  new AppError(message, { code, retryable: false });

const writeFile = (file: string, text: string, mode: number): void => {
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
};

const makeDir = (dir: string): void => {
  mkdirSync(dir, { recursive: true, mode: DIR });
  chmodSync(dir, DIR);
};

const assertNodeId = (nodeId: string): void => {
  if (!isSubjectSafeNodeId(nodeId))
    throw failure(
      'InvalidNodeId',
      `node id ${JSON.stringify(nodeId)} is not valid: letters, digits and _:@- only`,
    );
};

const newSeed = (): { seed: string; publicKey: string } => {
  const user = createUser();
  return { seed: new TextDecoder().decode(user.getSeed()), publicKey: user.getPublicKey() };
};

/** The public key of the NKey seed in `file`. */
export const publicKeyOfSeedFile = (file: string): string =>
  fromSeed(new TextEncoder().encode(readFileSync(file, 'utf8').trim())).getPublicKey();

const writeRegistry = (dir: string, registry: NodeRegistry): void => {
  const nodes = Object.fromEntries(
    [...registry.nodes]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, e]) => [id, { publicKey: e.publicKey, autoApprove: e.autoApprove }]),
  );
  writeFile(
    join(dir, SecurityFiles.nodeRegistry),
    `${JSON.stringify({ nodes }, null, 2)}\n`,
    PUBLIC,
  );
};

const readSettings = (dir: string): NatsServerSettings => {
  const file = join(dir, SecurityFiles.settings);
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { nats?: NatsServerSettings };
    if (typeof doc.nats?.listen !== 'string' || typeof doc.nats.storeDir !== 'string')
      throw new Error('no nats.listen or nats.storeDir');
    return doc.nats;
  } catch (error) {
    throw failure(
      SecurityErrorCode.SecurityDirInvalid,
      `cannot read ${file}: ${(error as Error).message}`,
    );
  }
};

/** Renders `<dir>/nats-server.conf` again from nodes.json, coordinator.nk and settings.json. */
export const writeNatsServerConf = (dir: string): string => {
  const settings = readSettings(dir);
  const mount = settings.mountDir;
  const text = renderNatsServerConf({
    listen: settings.listen,
    storeDir: settings.storeDir,
    serverCert: join(mount, SecurityFiles.serverCert),
    serverKey: join(mount, SecurityFiles.serverKey),
    caCert: join(mount, SecurityFiles.caCert),
    coordinatorPublicKey: publicKeyOfSeedFile(join(dir, SecurityFiles.coordinatorSeed)),
    registry: loadNodeRegistry(dir),
    ...(settings.monitor === undefined ? {} : { monitor: settings.monitor }),
  });
  const file = join(dir, SecurityFiles.natsServerConf);
  writeFile(file, text, PUBLIC);
  return file;
};

/** The files `init` writes, removed first by `force`. */
const OWN_ENTRIES = [
  SecurityFiles.caCert,
  SecurityFiles.caKey,
  SecurityFiles.serverCert,
  SecurityFiles.serverKey,
  SecurityFiles.coordinatorSeed,
  SecurityFiles.assignmentSigningKey,
  SecurityFiles.assignmentSigningPub,
  SecurityFiles.nodeRegistry,
  SecurityFiles.natsServerConf,
  SecurityFiles.settings,
  SecurityFiles.nodesDir,
  SecurityFiles.clientsDir,
];

/**
 * Creates the security directory `options.dir`. Refuses a directory that exists and is not empty
 * unless `force` (which replaces the files it writes, and nothing else).
 */
export const initSecurityDir = async (
  options: InitSecurityOptions,
): Promise<SecurityDirSummary> => {
  const dir = isAbsolute(options.dir) ? options.dir : resolve(options.dir);
  const nodes = [...new Set(options.nodes)];
  nodes.forEach(assertNodeId);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (options.force !== true)
      throw failure(
        SecurityErrorCode.SecurityDirExists,
        `${dir} exists and is not empty (--force replaces its security files)`,
      );
    for (const entry of OWN_ENTRIES) rmSync(join(dir, entry), { recursive: true, force: true });
  }
  makeDir(dir);
  makeDir(join(dir, SecurityFiles.nodesDir));
  makeDir(join(dir, SecurityFiles.clientsDir));
  const now = options.now ?? new Date();

  const ca = await createCertificateAuthority({ now });
  writeFile(join(dir, SecurityFiles.caCert), ca.certPem, PUBLIC);
  writeFile(join(dir, SecurityFiles.caKey), ca.keyPem, SECRET);
  const server = await issueServerCertificate(ca, { names: options.hosts ?? [], now });
  writeFile(join(dir, SecurityFiles.serverCert), server.certPem, PUBLIC);
  writeFile(join(dir, SecurityFiles.serverKey), server.keyPem, SECRET);

  const coordinator = newSeed();
  writeFile(join(dir, SecurityFiles.coordinatorSeed), `${coordinator.seed}\n`, SECRET);
  const registry = new Map<string, NodeRegistryEntry>();
  for (const nodeId of nodes) {
    const node = newSeed();
    writeFile(join(dir, SecurityFiles.nodeSeed(nodeId)), `${node.seed}\n`, SECRET);
    registry.set(nodeId, { publicKey: node.publicKey, autoApprove: options.autoApprove === true });
  }
  writeRegistry(dir, { nodes: registry });

  const signing = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFile(join(dir, SecurityFiles.assignmentSigningKey), signing.privateKey, SECRET);
  writeFile(join(dir, SecurityFiles.assignmentSigningPub), signing.publicKey, PUBLIC);

  const settings: NatsServerSettings = {
    listen: options.nats?.listen ?? '127.0.0.1:4222',
    storeDir: options.nats?.storeDir ?? join(options.nats?.mountDir ?? dir, 'jetstream'),
    mountDir: options.nats?.mountDir ?? dir,
    ...(options.nats?.monitor === undefined ? {} : { monitor: options.nats.monitor }),
  };
  writeFile(
    join(dir, SecurityFiles.settings),
    `${JSON.stringify({ nats: settings }, null, 2)}\n`,
    PUBLIC,
  );
  writeNatsServerConf(dir);
  return { dir, coordinatorPublicKey: coordinator.publicKey, nodes: registry };
};

/**
 * Adds node identities to an existing directory (a seed each, nodes.json) and renders
 * nats-server.conf again; a running server applies it on `nats-server --signal reload` (SIGHUP).
 * Refuses a node that exists, unless `rotate`: then the node gets a new seed (the old one stops
 * working at the reload) and keeps its auto-approval unless `autoApprove` is given.
 */
export const addNodes = (
  dirPath: string,
  nodeIds: readonly string[],
  { autoApprove, rotate = false }: { autoApprove?: boolean; rotate?: boolean } = {},
): ReadonlyMap<string, NodeRegistryEntry> => {
  const dir = resolve(dirPath);
  nodeIds.forEach(assertNodeId);
  const registry = new Map(loadNodeRegistry(dir).nodes);
  for (const nodeId of nodeIds) {
    const known = registry.has(nodeId) || existsSync(join(dir, SecurityFiles.nodeSeed(nodeId)));
    if (known && !rotate)
      throw failure(SecurityErrorCode.SecurityDirExists, `node ${nodeId} exists in ${dir}`);
    if (!known && rotate)
      throw failure(SecurityErrorCode.SecurityDirInvalid, `node ${nodeId} is not in ${dir}`);
  }
  const added = new Map<string, NodeRegistryEntry>();
  for (const nodeId of new Set(nodeIds)) {
    const node = newSeed();
    writeFile(join(dir, SecurityFiles.nodeSeed(nodeId)), `${node.seed}\n`, SECRET);
    const entry = {
      publicKey: node.publicKey,
      autoApprove: autoApprove ?? registry.get(nodeId)?.autoApprove ?? false,
    };
    registry.set(nodeId, entry);
    added.set(nodeId, entry);
  }
  writeRegistry(dir, { nodes: registry });
  writeNatsServerConf(dir);
  return added;
};

/**
 * Revokes a node: its seed and its entry in nodes.json are removed and nats-server.conf rendered
 * again; at the server's reload its connections are closed and it can no longer connect.
 */
export const removeNode = (dirPath: string, nodeId: string): void => {
  const dir = resolve(dirPath);
  assertNodeId(nodeId);
  const registry = new Map(loadNodeRegistry(dir).nodes);
  if (!registry.delete(nodeId))
    throw failure(SecurityErrorCode.SecurityDirInvalid, `node ${nodeId} is not in ${dir}`);
  rmSync(join(dir, SecurityFiles.nodeSeed(nodeId)), { force: true });
  writeRegistry(dir, { nodes: registry });
  writeNatsServerConf(dir);
};

/** Writes `clients/<name>.crt` and `.key`: a person's certificate (CN = name, OU = role). */
export const issueClient = async (
  dirPath: string,
  { name, role, now = new Date() }: { name: string; role: ClientRole; now?: Date },
): Promise<{ certFile: string; keyFile: string }> => {
  const dir = resolve(dirPath);
  if (!CLIENT_NAME.test(name))
    throw failure(
      'InvalidClientName',
      `client name ${JSON.stringify(name)} is not valid: 1-64 letters, digits and ._@-`,
    );
  if (!CLIENT_ROLES.includes(role))
    throw failure('InvalidClientRole', `role ${role} is not one of ${CLIENT_ROLES.join(', ')}`);
  const certFile = join(dir, SecurityFiles.clientCert(name));
  const keyFile = join(dir, SecurityFiles.clientKey(name));
  if (existsSync(certFile))
    throw failure(SecurityErrorCode.SecurityDirExists, `client ${name} exists: ${certFile}`);
  let ca;
  try {
    ca = await loadCertificateAuthority(
      readFileSync(join(dir, SecurityFiles.caCert), 'utf8'),
      readFileSync(join(dir, SecurityFiles.caKey), 'utf8'),
    );
  } catch (error) {
    throw failure(
      SecurityErrorCode.SecurityDirInvalid,
      `cannot load the CA of ${dir}: ${(error as Error).message}`,
    );
  }
  const cert = await issueClientCertificate(ca, { name, role, now });
  makeDir(join(dir, SecurityFiles.clientsDir));
  writeFile(keyFile, cert.keyPem, SECRET);
  writeFile(certFile, cert.certPem, PUBLIC);
  return { certFile, keyFile };
};
