/**
 * The program object operations of the API (ARCHITECTURE.md, "Programs"): push (read as a BPF
 * ELF, then stored content addressed), list, one object's summary, its bytes. Answers are
 * ApiResults; a coordinator without a store answers 503 to each.
 */
import type { ProgramStore } from '@tramway/shared/infra';
import { PROGRAM_DIGEST } from '@tramway/shared/infra';
import type { ApiResult } from '../http/api-result.js';
import { ApiErrorCode, failure, success } from '../http/api-result.js';

export interface ProgramObjects {
  /** stores the body's bytes; `storedAt` is the coordinator clock's now */
  push(body: unknown): Promise<ApiResult>;
  list(): Promise<ApiResult>;
  info(digest: string): Promise<ApiResult>;
  bytes(digest: string): Promise<ApiResult>;
}

const noStore = (): ApiResult =>
  failure(503, ApiErrorCode.NotReady, 'this coordinator keeps no program store');

const badDigest = (digest: string): ApiResult | undefined =>
  PROGRAM_DIGEST.test(digest)
    ? undefined
    : failure(400, ApiErrorCode.InvalidRequest, 'invalid digest', [
        `path.digest: sha256: and 64 lowercase hex digits (got ${JSON.stringify(digest.slice(0, 80))})`,
      ]);

const notFound = (digest: string): ApiResult =>
  failure(404, ApiErrorCode.NotFound, `no program object ${digest} is stored`);

export const createProgramObjects = (
  store: ProgramStore | undefined,
  now: () => Date,
): ProgramObjects => ({
  push: async (body) => {
    if (store === undefined) return noStore();
    if (!(body instanceof Uint8Array) || body.length === 0)
      return failure(400, ApiErrorCode.InvalidRequest, 'no object: the body must be its bytes', [
        'body: the compiled BPF object, application/octet-stream',
      ]);
    const put = await store.put(body, now());
    if (!put.ok)
      return failure(
        put.error.code === 'TooLarge' ? 413 : 400,
        put.error.code === 'TooLarge'
          ? ApiErrorCode.PayloadTooLarge
          : ApiErrorCode.InvalidProgramObject,
        put.error.message,
        [`body: ${put.error.message}`],
      );
    return success(put.value, put.value.created ? 201 : 200);
  },
  list: async () => (store === undefined ? noStore() : success(await store.list())),
  info: async (digest) => {
    if (store === undefined) return noStore();
    const bad = badDigest(digest);
    if (bad) return bad;
    const found = await store.info(digest);
    return found === undefined ? notFound(digest) : success(found);
  },
  bytes: async (digest) => {
    if (store === undefined) return noStore();
    const bad = badDigest(digest);
    if (bad) return bad;
    const found = await store.get(digest);
    return found === undefined ? notFound(digest) : success(found);
  },
});
