/** Exhaustiveness check for discriminated unions: reaching it is a bug. */
export const assertNever = (value: never, what = 'value'): never => {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
};
