/**
 * Validators of the coordinator's OpenAPI document's schemas, read back from the document's JSON
 * Schema by zod's own JSON Schema reader (`z.fromJSONSchema`), not from the zod schemas it was
 * generated from: what a client reading the document would accept.
 */
import { z } from 'zod';
import { OPENAPI_DOCUMENT } from '../../services/coordinator/src/http/openapi.js';

type Json = Record<string, unknown>;

const local = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', '"#/$defs/'));

/** A validator of `schema`, a JSON Schema of the document (its components as `$defs`). */
export const documentValidator = (schema: unknown) =>
  z.fromJSONSchema({
    ...(local(schema) as Json),
    $defs: local(OPENAPI_DOCUMENT.components.schemas) as Json,
  } as Parameters<typeof z.fromJSONSchema>[0]);

/** The operation `method path` of the document (method in lower case). */
export const documentOperation = (method: string, path: string): Json => {
  const op = OPENAPI_DOCUMENT.paths[path]?.[method.toLowerCase()];
  if (op === undefined) throw new Error(`no ${method} ${path} in the OpenAPI document`);
  return op;
};

/** A documented answer of an operation: its status, media types and their schemas, headers. */
export interface DocumentedAnswer {
  readonly status: string;
  readonly content: Readonly<Record<string, { readonly schema: unknown }>>;
  readonly headers: Readonly<Record<string, unknown>>;
}

export const documentedAnswers = (method: string, path: string): readonly DocumentedAnswer[] =>
  Object.entries(documentOperation(method, path)['responses'] as Record<string, Json>).map(
    ([status, answer]) => ({
      status,
      content: (answer['content'] ?? {}) as DocumentedAnswer['content'],
      headers: (answer['headers'] ?? {}) as Json,
    }),
  );

/** The `code`s a documented problem answer may carry. */
export const documentedCodes = (answer: DocumentedAnswer): readonly string[] => {
  const schema = answer.content['application/problem+json']?.schema as
    { allOf: [unknown, { properties: { code: { enum: string[] } } }] } | undefined;
  if (schema === undefined) throw new Error(`${answer.status} is not a problem answer`);
  return schema.allOf[1].properties.code.enum;
};
