export type { Result } from './result.ts';
export { ok, err } from './result.ts';
export { assertNever } from './assert-never.ts';
