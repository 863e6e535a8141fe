/**
 * The regular expression the function-pattern matcher used to build (`*` became `.*`, so failing
 * matches backtrack exponentially in stars), kept as a reference: the matcher's tests check that
 * results did not change, and bench:glob measures what the linear matcher saves.
 */
export const legacyGlobRegex = (glob: string): RegExp => {
  let source = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      let body = glob.slice(i + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`${source}$`);
};
