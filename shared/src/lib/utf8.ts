/**
 * UTF-8 in plain code, so that the pure zone needs neither `TextDecoder` nor `TextEncoder`
 * (neither is in the ECMAScript library; they come from the host). Both follow the WHATWG
 * Encoding Standard's UTF-8 decoder and encoder, and agree with the host's
 * `TextDecoder('utf-8', { ignoreBOM: true })` (non-fatal, a leading BOM kept as the byte
 * string has it) and `TextEncoder`.
 */

const REPLACEMENT = 0xfffd;
/** code units per `String.fromCharCode` call: well under every engine's argument limit */
const CHUNK = 0x2000;

const fromCodeUnits = (units: Uint8Array | Uint16Array, length: number): string => {
  let text = '';
  // apply takes any array-like, so a typed array needs no copy (much faster than a spread)
  for (let at = 0; at < length; at += CHUNK)
    text += String.fromCharCode.apply(
      null,
      units.subarray(at, Math.min(at + CHUNK, length)) as unknown as number[],
    );
  return text;
};

/** True when every byte is below 0x80, in which case the bytes are their own UTF-16 text. */
export const isAscii = (bytes: Uint8Array): boolean => {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
};

/**
 * Decodes UTF-8. An ill-formed sequence becomes U+FFFD, one per maximal subpart (WHATWG
 * Encoding §9.1.1): a byte that cannot start a sequence, a truncated sequence, an overlong form,
 * a surrogate or a value above U+10FFFF. A leading byte order mark is kept as U+FEFF.
 */
export const decodeUtf8 = (bytes: Uint8Array): string => {
  if (isAscii(bytes)) return fromCodeUnits(bytes, bytes.length);
  const units = new Uint16Array(bytes.length);
  let length = 0;
  let codePoint = 0;
  let needed = 0;
  let seen = 0;
  let lower = 0x80;
  let upper = 0xbf;
  const push = (cp: number): void => {
    if (cp > 0xffff) {
      const v = cp - 0x10000;
      units[length++] = 0xd800 + (v >> 10);
      units[length++] = 0xdc00 + (v & 0x3ff);
    } else units[length++] = cp;
  };
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (needed === 0) {
      if (byte <= 0x7f) push(byte);
      else if (byte >= 0xc2 && byte <= 0xdf) {
        needed = 1;
        codePoint = byte & 0x1f;
      } else if (byte >= 0xe0 && byte <= 0xef) {
        if (byte === 0xe0) lower = 0xa0;
        if (byte === 0xed) upper = 0x9f;
        needed = 2;
        codePoint = byte & 0xf;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        if (byte === 0xf0) lower = 0x90;
        if (byte === 0xf4) upper = 0x8f;
        needed = 3;
        codePoint = byte & 0x7;
      } else push(REPLACEMENT);
      continue;
    }
    if (byte < lower || byte > upper) {
      // the sequence so far is one maximal subpart; this byte is looked at again on its own
      codePoint = needed = seen = 0;
      lower = 0x80;
      upper = 0xbf;
      push(REPLACEMENT);
      i--;
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    codePoint = (codePoint << 6) | (byte & 0x3f);
    if (++seen === needed) {
      push(codePoint);
      codePoint = needed = seen = 0;
    }
  }
  if (needed !== 0) push(REPLACEMENT);
  // a Uint16Array may be longer than needed (a multi-byte sequence yields fewer code units)
  return fromCodeUnits(units, length);
};

/** Encodes text as UTF-8; a lone surrogate is encoded as U+FFFD (EF BF BD). */
export const encodeUtf8 = (text: string): Uint8Array => {
  const out = new Uint8Array(text.length * 3);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else cp = REPLACEMENT;
    }
    if (cp < 0x80) out[length++] = cp;
    else if (cp < 0x800) {
      out[length++] = 0xc0 | (cp >> 6);
      out[length++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      out[length++] = 0xe0 | (cp >> 12);
      out[length++] = 0x80 | ((cp >> 6) & 0x3f);
      out[length++] = 0x80 | (cp & 0x3f);
    } else {
      out[length++] = 0xf0 | (cp >> 18);
      out[length++] = 0x80 | ((cp >> 12) & 0x3f);
      out[length++] = 0x80 | ((cp >> 6) & 0x3f);
      out[length++] = 0x80 | (cp & 0x3f);
    }
  }
  return out.slice(0, length);
};
