/**
 * The security directory written by `tramway security init` (docs/security.md): where each file
 * lives, the node registry (`nodes.json`) and the NATS credentials of each identity. Reading only:
 * making the material is `security-dir.ts` (which pulls in the X.509 library).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { isSubjectSafeNodeId } from '../../contracts/index.js';
import { AppError } from '../errors.js';

export const SecurityFiles = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  /** nats-server's and the coordinator's HTTPS API's certificate */
  serverCert: 'server.crt',
  serverKey: 'server.key',
  /** NKey seed of the coordinator's NATS user (every permission) */
  coordinatorSeed: 'coordinator.nk',
  nodesDir: 'nodes',
  /** NKey seed of a node's NATS user (its own subjects only) */
  nodeSeed: (nodeId: string): string => `nodes/${nodeId}.nk`,
  /** Ed25519 private key (PKCS#8 PEM) the coordinator signs assignments with */
  assignmentSigningKey: 'assignment-signing.key',
  /** its public key (SPKI PEM), given to agents */
  assignmentSigningPub: 'assignment-signing.pub',
  nodeRegistry: 'nodes.json',
  natsServerConf: 'nats-server.conf',
  /** how nats-server.conf is rendered again (listen address, store dir, mount point) */
  settings: 'settings.json',
  clientsDir: 'clients',
  clientCert: (name: string): string => `clients/${name}.crt`,
  clientKey: (name: string): string => `clients/${name}.key`,
} as const;

export const SecurityErrorCode = {
  /** the directory or one of its files is missing or malformed */
  SecurityDirInvalid: 'SecurityDirInvalid',
  /** init over an existing directory without force, or a node/client that exists already */
  SecurityDirExists: 'SecurityDirExists',
} as const;

export interface NodeRegistryEntry {
  /** the node's NKey public key (`U...`) */
  readonly publicKey: string;
  /** the node is admitted on its first registration, without `tramway node approve` */
  readonly autoApprove: boolean;
}

/** `nodes.json`: `{ "nodes": { "<id>": { "publicKey": "U...", "autoApprove": bool } } }`. */
export interface NodeRegistry {
  readonly nodes: ReadonlyMap<string, NodeRegistryEntry>;
}

const invalid = (message: string, cause?: unknown): AppError =>
  new AppError(message, {
    code: SecurityErrorCode.SecurityDirInvalid,
    retryable: false,
    ...(cause === undefined ? {} : { cause }),
  });

/** Parses the text of `nodes.json`; throws an AppError naming the first bad entry. */
export const parseNodeRegistry = (
  text: string,
  file: string = SecurityFiles.nodeRegistry,
): NodeRegistry => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw invalid(`${file}: not JSON`, error);
  }
  const nodes = (doc as { nodes?: unknown } | null)?.nodes;
  if (typeof nodes !== 'object' || nodes === null || Array.isArray(nodes))
    throw invalid(`${file}: "nodes" must be an object`);
  const entries = new Map<string, NodeRegistryEntry>();
  for (const [nodeId, value] of Object.entries(nodes)) {
    const entry = value as { publicKey?: unknown; autoApprove?: unknown } | null;
    if (!isSubjectSafeNodeId(nodeId)) throw invalid(`${file}: node id ${nodeId} is not valid`);
    if (typeof entry?.publicKey !== 'string' || !/^U[A-Z2-7]{55}$/.test(entry.publicKey))
      throw invalid(`${file}: nodes.${nodeId}.publicKey must be a user NKey (U...)`);
    if (typeof entry.autoApprove !== 'boolean')
      throw invalid(`${file}: nodes.${nodeId}.autoApprove must be true or false`);
    entries.set(nodeId, { publicKey: entry.publicKey, autoApprove: entry.autoApprove });
  }
  return { nodes: entries };
};

/** Reads `<dir>/nodes.json` (the coordinator's admission rule: `autoApprove` per node). */
export const loadNodeRegistry = (dir: string): NodeRegistry => {
  const file = join(dir, SecurityFiles.nodeRegistry);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw invalid(`cannot read ${file}: ${(error as Error).message}`, error);
  }
  return parseNodeRegistry(text, file);
};

/** What a NATS connection presents: an NKey identity, the CA to trust, its reply prefix. */
export interface NatsCredentials {
  /** file holding the NKey seed (`SU...`) of this identity */
  readonly nkeySeedFile?: string;
  /** PEM CA that signed the server's certificate: TLS is required when set */
  readonly caFile?: string;
  /** replies to this connection's requests arrive under `<inboxPrefix>.>` */
  readonly inboxPrefix?: string;
}

/** The inbox prefix of a node's connection: the only reply subjects its user may subscribe to. */
export const nodeInboxPrefix = (nodeId: string): string => `_INBOX_${nodeId}`;

/**
 * The credentials of `identity` in the security directory `dir`: the coordinator (`coordinator.nk`)
 * or a node (`nodes/<id>.nk`, inbox `_INBOX_<id>`); always the directory's `ca.crt`.
 */
export const natsCredentialsOf = (
  dir: string,
  identity: { readonly coordinator: true } | { readonly nodeId: string },
): NatsCredentials => {
  const root = isAbsolute(dir) ? dir : resolve(dir);
  if ('nodeId' in identity) {
    if (!isSubjectSafeNodeId(identity.nodeId))
      throw invalid(`node id ${identity.nodeId} is not valid`);
    return {
      nkeySeedFile: join(root, SecurityFiles.nodeSeed(identity.nodeId)),
      caFile: join(root, SecurityFiles.caCert),
      inboxPrefix: nodeInboxPrefix(identity.nodeId),
    };
  }
  return {
    nkeySeedFile: join(root, SecurityFiles.coordinatorSeed),
    caFile: join(root, SecurityFiles.caCert),
  };
};

/** Throws when a file named by `credentials` does not exist (a clear error before connecting). */
export const assertCredentialFiles = (credentials: NatsCredentials): void => {
  for (const [what, file] of [
    ['NKey seed file', credentials.nkeySeedFile],
    ['CA file', credentials.caFile],
  ] as const) {
    if (file !== undefined && !existsSync(file)) throw invalid(`${what} ${file} does not exist`);
  }
};
