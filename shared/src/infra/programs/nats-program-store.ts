/**
 * The fleet's program store: a JetStream Object Store bucket (`tramway-programs` by default), one
 * object per program object, named by its digest, with its summary in the object's metadata.
 * The bucket checks its own chunk digests; the loader checks the sha256 of the whole again.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { Objm } from '@nats-io/obj';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import { err, ok } from '../../lib/result.js';
import type { ProgramStore, StoredProgramObject } from './program-store.port.js';
import {
  MAX_PROGRAM_OBJECT_BYTES,
  PROGRAM_DIGEST,
  checkProgramObject,
  summarize,
} from './program-store.port.js';

export const DEFAULT_PROGRAM_BUCKET = 'tramway-programs';
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
  /** replicas of the bucket's stream when it is created (R3 in a cluster) */
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
    ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
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
