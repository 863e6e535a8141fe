/**
 * The fleet's program store: a JetStream Object Store bucket (`tramway-programs` by default), one
 * object per program object, named by its digest, with its summary in the object's metadata.
 * The bucket checks its own chunk digests; the loader checks the sha256 of the whole again.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import { describeConnectFailure, natsConnectOptions } from '../nats/nats-connection.js';
import type { NatsCredentials } from '../security/security-layout.js';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { clusterReplicas } from '../bus/nats-durable.js';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import { err, ok } from '../../lib/result.js';
import { DEFAULT_PROGRAM_BUCKET } from './program-bucket.js';
import type { ProgramStore, StoredProgramObject } from './program-store.port.js';
import {
  MAX_PROGRAM_OBJECT_BYTES,
  PROGRAM_DIGEST,
  checkProgramObject,
  summarize,
} from './program-store.port.js';

const SUMMARY_KEY = 'tramway-summary';

const summaryOf = (info: ObjectInfo | null): StoredProgramObject | undefined => {
  if (info === null || info.deleted || !PROGRAM_DIGEST.test(info.name)) return undefined;
  const text = info.metadata?.[SUMMARY_KEY];
  if (text === undefined) return undefined;
  return JSON.parse(text) as StoredProgramObject;
};

export interface NatsProgramStoreOptions {
  readonly bucket?: string;
  readonly maxBytes?: number;
  /** replicas of the bucket's stream when it is created (default: `clusterReplicas`, R3 in a cluster) */
  readonly replicas?: number;
}

/**
 * Opens (creating it when absent) the bucket on `nc`. The connection stays the caller's: `close`
 * does not close it.
 */
export const openNatsProgramStore = async (
  nc: NatsConnection,
  options: NatsProgramStoreOptions = {},
): Promise<ProgramStore> => {
  const maxBytes = options.maxBytes ?? MAX_PROGRAM_OBJECT_BYTES;
  const objm = new Objm(nc);
  const bucket: ObjectStore = await objm.create(options.bucket ?? DEFAULT_PROGRAM_BUCKET, {
    description: 'Tramway program objects (compiled BPF ELF), named by sha256 digest',
    replicas: options.replicas ?? clusterReplicas(nc),
  });
  const info = async (digest: string): Promise<StoredProgramObject | undefined> =>
    PROGRAM_DIGEST.test(digest) ? summaryOf(await bucket.info(digest)) : undefined;
  return {
    put: async (bytes, now) => {
      const checked = checkProgramObject(bytes, maxBytes);
      if (!checked.ok) return err(checked.error);
      const { digest } = checked.value;
      const known = await info(digest);
      if (known !== undefined) return ok({ ...known, created: false });
      const summary = summarize(digest, checked.value.info, now.toISOString());
      await bucket.putBlob(
        { name: digest, metadata: { [SUMMARY_KEY]: JSON.stringify(summary) } },
        bytes,
      );
      return ok({ ...summary, created: true });
    },
    info,
    get: async (digest) => {
      if (!PROGRAM_DIGEST.test(digest)) return undefined;
      const blob = await bucket.getBlob(digest);
      // a plain Uint8Array of its own (nats.js may answer a view of a larger buffer)
      return blob === null ? undefined : Uint8Array.from(blob);
    },
    list: async () =>
      (await bucket.list())
        .flatMap((i) => {
          const s = summaryOf(i);
          return s === undefined ? [] : [s];
        })
        .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0)),
    close: () => Promise.resolve(),
  };
};

/**
 * An agent's read-only view of the bucket: the bytes of an object by digest, nothing else. It
 * opens the bucket without creating it (a node's NATS user may read the bucket, never write:
 * `nodeProgramReadAllow`), on first use, so an agent starts while the coordinator has not made
 * the bucket yet. The connection stays the caller's.
 */
export const natsProgramSource = (
  nc: NatsConnection,
  bucketName: string = DEFAULT_PROGRAM_BUCKET,
): { get(digest: string): Promise<Uint8Array | undefined> } => {
  let bucket: Promise<ObjectStore> | undefined;
  return {
    get: async (digest) => {
      if (!PROGRAM_DIGEST.test(digest)) return undefined;
      // no `$JS.API.INFO` check (a node's user may not ask for the account's info)
      bucket ??= new Objm(jetstream(nc, { checkAPI: false })).open(bucketName, false);
      const blob = await (await bucket).getBlob(digest);
      return blob === null ? undefined : Uint8Array.from(blob);
    },
  };
};

/** A store on a connection of its own (the coordinator's process), closed with the store. */
export const connectNatsProgramStore = async (
  servers: string,
  credentials: NatsCredentials | undefined,
  options: NatsProgramStoreOptions = {},
): Promise<ProgramStore> => {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: 'tramway-programs',
      ...natsConnectOptions(credentials),
    });
  } catch (error) {
    throw describeConnectFailure(servers, error);
  }
  const store = await openNatsProgramStore(nc, options).catch(async (error: unknown) => {
    await nc.close();
    throw error;
  });
  return {
    ...store,
    close: async () => {
      await nc.close();
    },
  };
};

/**
 * An agent's source of program objects over a connection of its own, made on the first fetch
 * (most agents never fetch one: an agent starts without it) with the node's identity.
 */
export const connectNatsProgramSource = (
  servers: string,
  credentials: NatsCredentials | undefined,
  bucketName: string = DEFAULT_PROGRAM_BUCKET,
): { get(digest: string): Promise<Uint8Array | undefined>; close(): Promise<void> } => {
  let opened:
    Promise<{ nc: NatsConnection; source: ReturnType<typeof natsProgramSource> }> | undefined;
  const open = () =>
    (opened ??= connect({
      servers,
      name: 'tramway-agent-programs',
      ...natsConnectOptions(credentials),
    }).then(
      (nc) => ({ nc, source: natsProgramSource(nc, bucketName) }),
      (error: unknown) => {
        opened = undefined;
        throw describeConnectFailure(servers, error);
      },
    ));
  return {
    get: async (digest) => (await open()).source.get(digest),
    close: async () => {
      if (opened === undefined) return;
      const o = await opened.catch(() => undefined);
      await o?.nc.close();
    },
  };
};
