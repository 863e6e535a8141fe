#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), resolving @tramway/shared to its sources,
// so `npx tramway` works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register({ conditions: ['@tramway/source'] });
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
