/**
 * `tramway security init|add-node|issue-client` (docs/security.md): makes the security directory
 * of an installation (CA, server certificate, NKey identities, assignment-signing keys, node
 * registry, nats-server.conf), adds nodes to it, and issues people's client certificates.
 */
import { join, resolve } from 'node:path';
import type { ClientRole } from '@tramway/shared/security';
import { SecurityFiles, isAppError } from '@tramway/shared/infra';
import { positionalsOf } from '../cli-args.js';
import type { CliIo, CommandRun } from '../cli-command.js';
import { UsageError } from '../cli-command.js';

/** The roles of people on the HTTP API (as `@tramway/shared/security`'s CLIENT_ROLES). */
const CLIENT_ROLES: readonly ClientRole[] = ['viewer', 'operator', 'admin'];

/**
 * The module that makes certificates, loaded only by these commands: the X.509 library and its
 * Reflect polyfill stay out of every other command's start-up.
 */
const securityModule = () => import('@tramway/shared/security');

/** Where the security directory is by default. */
export const DEFAULT_SECURITY_DIR = '.tramway-security';

const dirOf = (values: ReadonlyMap<string, string>, io: CliIo): string =>
  resolve(
    io.cwd,
    values.get('--dir') ?? nonEmpty(io.env['TRAMWAY_SECURITY_DIR']) ?? DEFAULT_SECURITY_DIR,
  );

const nonEmpty = (v: string | undefined): string | undefined =>
  v === undefined || v === '' ? undefined : v;

const listOf = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Runs `work`; a refusal of the security module (an AppError) is exit 1 with its message. */
const refusalsAsExit1 = async (
  io: CliIo,
  command: string,
  work: () => Promise<number>,
): Promise<number> => {
  try {
    return await work();
  } catch (error) {
    if (!isAppError(error)) throw error;
    io.stderr(`tramway security ${command}: ${error.message}\n`);
    return 1;
  }
};

export const runSecurityInit: CommandRun = async (args, io) => {
  // every --host, each possibly a comma-separated list
  const hosts = (args.lists.get('--host') ?? []).flatMap((h) => listOf(h));
  positionalsOf(args, []);
  const dir = dirOf(args.values, io);
  const nodes = listOf(args.values.get('--nodes'));
  const value = (name: string) => args.values.get(name);
  return refusalsAsExit1(io, 'init', async () => {
    const { initSecurityDir } = await securityModule();
    const summary = await initSecurityDir({
      dir,
      nodes,
      autoApprove: args.flags.has('--auto-approve'),
      hosts,
      force: args.flags.has('--force'),
      nats: {
        ...(value('--nats-listen') === undefined ? {} : { listen: value('--nats-listen')! }),
        ...(value('--nats-store') === undefined ? {} : { storeDir: value('--nats-store')! }),
        ...(value('--nats-monitor') === undefined ? {} : { monitor: value('--nats-monitor')! }),
        ...(value('--mount') === undefined ? {} : { mountDir: value('--mount')! }),
      },
    });
    io.stdout(
      [
        `security directory ${summary.dir}:`,
        `  ${SecurityFiles.caCert}, ${SecurityFiles.caKey}            the CA (keep ca.key offline once done)`,
        `  ${SecurityFiles.serverCert}, ${SecurityFiles.serverKey}    nats-server and the coordinator's HTTPS API`,
        `  ${SecurityFiles.coordinatorSeed}                coordinator NKey ${summary.coordinatorPublicKey}`,
        ...[...summary.nodes].map(
          ([id, e]) =>
            `  ${SecurityFiles.nodeSeed(id)}  node NKey ${e.publicKey}${e.autoApprove ? ' (auto-approved)' : ''}`,
        ),
        `  ${SecurityFiles.assignmentSigningKey}, ${SecurityFiles.assignmentSigningPub}  Ed25519 assignment signing`,
        `  ${SecurityFiles.nodeRegistry}, ${SecurityFiles.natsServerConf}`,
        `run NATS with: nats-server -c ${join(summary.dir, SecurityFiles.natsServerConf)}`,
        '',
      ].join('\n'),
    );
    return 0;
  });
};

const RELOAD_HINT =
  'rendered again: apply it with `nats-server --signal reload` (or SIGHUP to the server)';

export const runSecurityAddNode: CommandRun = async (args, io) => {
  const [node] = positionalsOf(args, ['NODE']);
  const dir = dirOf(args.values, io);
  return refusalsAsExit1(io, 'add-node', async () => {
    const { addNodes } = await securityModule();
    const added = addNodes(dir, [node!], {
      ...(args.flags.has('--auto-approve') ? { autoApprove: true } : {}),
      rotate: args.flags.has('--rotate'),
    });
    const entry = added.get(node!)!;
    io.stdout(
      [
        `${join(dir, SecurityFiles.nodeSeed(node!))}: node ${node} NKey ${entry.publicKey}${entry.autoApprove ? ' (auto-approved)' : ''}`,
        `${join(dir, SecurityFiles.natsServerConf)} ${RELOAD_HINT}`,
        '',
      ].join('\n'),
    );
    return 0;
  });
};

export const runSecurityRemoveNode: CommandRun = async (args, io) => {
  const [node] = positionalsOf(args, ['NODE']);
  const dir = dirOf(args.values, io);
  return refusalsAsExit1(io, 'remove-node', async () => {
    const { removeNode } = await securityModule();
    removeNode(dir, node!);
    io.stdout(
      `node ${node} removed; ${join(dir, SecurityFiles.natsServerConf)} ${RELOAD_HINT}: its connections are then closed\n`,
    );
    return 0;
  });
};

export const runSecurityIssueClient: CommandRun = async (args, io) => {
  positionalsOf(args, []);
  const name = args.values.get('--name');
  const role = args.values.get('--role');
  if (name === undefined) throw new UsageError('missing --name');
  if (role === undefined || !(CLIENT_ROLES as readonly string[]).includes(role))
    throw new UsageError(`--role must be one of ${CLIENT_ROLES.join(', ')}`);
  const dir = dirOf(args.values, io);
  return refusalsAsExit1(io, 'issue-client', async () => {
    const { issueClient } = await securityModule();
    const files = await issueClient(dir, { name, role: role as ClientRole });
    io.stdout(`${files.certFile}\n${files.keyFile}\n`);
    return 0;
  });
};
