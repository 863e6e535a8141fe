/**
 * Writes the coordinator's OpenAPI document (http/openapi.ts) to the file named as the first
 * argument, or to stdout: what `npm run lint:openapi` lints. No logic.
 */
import { writeFileSync } from 'node:fs';
import { OPENAPI_DOCUMENT } from './http/openapi.js';

const text = `${JSON.stringify(OPENAPI_DOCUMENT, null, 2)}\n`;
const file = process.argv[2];
if (file === undefined) process.stdout.write(text);
else writeFileSync(file, text);
