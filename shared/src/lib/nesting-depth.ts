/** Deepest nesting of JSON (or YAML flow) text accepted before parsing it. */
export const MAX_NESTING_DEPTH = 64;

/**
 * Whether `[`/`{` nest deeper than `limit` in `text`, brackets inside double-quoted strings not
 * counted. One pass, no allocation: run before a recursive parser (JSON.parse, a YAML composer)
 * so that a deep text is refused with the limit instead of exhausting the stack.
 */
export const nestingExceeds = (text: string, limit: number = MAX_NESTING_DEPTH): boolean => {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return false;
};
