#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), resolving @tramway/shared to its sources (the
// `@tramway/source` export condition), so `npx tramway` works right after `npm ci` with no build.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

const addSourceCondition = `export async function resolve(specifier, context, next) {
  const conditions = context.conditions.includes('@tramway/source')
    ? context.conditions
    : [...context.conditions, '@tramway/source'];
  return next(specifier, { ...context, conditions });
}`;
register(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`);
registerTsx();
const { exitOnClosedPipe } = await import('../src/closed-pipe.ts');
// `tramway ... | head`: the reader going away ends the process quietly, not with a stack trace
exitOnClosedPipe(
  [process.stdout, process.stderr],
  (status) => process.exit(status),
  (line) => {
    try {
      process.stderr.write(line);
    } catch {
      // stderr is gone too: nothing left to tell
    }
  },
);
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
