import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUtf8, encodeUtf8, isAscii } from '../../../shared/src/lib/utf8.js';

// the host's codecs are the reference: the pure ones must agree with them byte for byte
const hostDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const hostEncoder = new TextEncoder();
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('decodeUtf8', () => {
  it.each([
    ['ASCII', bytes(0x74, 0x63, 0x70, 0x00), 'tcp\0'],
    [
      '2, 3 and 4 byte sequences',
      bytes(0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80),
      'é€😀',
    ],
    ['a stray continuation byte', bytes(0x61, 0x80, 0x62), 'a\uFFFDb'],
    ['a truncated sequence, then ASCII', bytes(0xe2, 0x82, 0x61), '\uFFFDa'],
    ['an overlong form, one U+FFFD per byte', bytes(0xc0, 0xaf), '\uFFFD\uFFFD'],
    ['an encoded surrogate', bytes(0xed, 0xa0, 0x80), '\uFFFD\uFFFD\uFFFD'],
    ['a value above U+10FFFF', bytes(0xf4, 0x90, 0x80, 0x80), '\uFFFD\uFFFD\uFFFD\uFFFD'],
    ['a sequence cut by the end', bytes(0x61, 0xf0, 0x9f, 0x98), 'a\uFFFD'],
    ['a leading byte order mark, kept', bytes(0xef, 0xbb, 0xbf, 0x61), '\uFEFFa'],
  ])('decodes %s as the host does', (_name, input, text) => {
    expect(decodeUtf8(input)).toBe(text);
    expect(decodeUtf8(input)).toBe(hostDecoder.decode(input));
  });

  it('agrees with the host decoder on any bytes', () => {
    // bytes biased towards the UTF-8 lead and continuation ranges, where the edge cases are
    const byte = fc.oneof(
      fc.integer({ min: 0, max: 0xff }),
      fc.integer({ min: 0x80, max: 0xbf }),
      fc.constantFrom(0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.array(byte, { maxLength: 40 }), (a, b) => {
        const input = Uint8Array.from([...a, ...b]);
        expect(decodeUtf8(input)).toBe(hostDecoder.decode(input));
      }),
    );
  });

  it('decodes a section longer than one String.fromCharCode chunk', () => {
    const input = new Uint8Array(70_000).map((_, i) => 0x61 + (i % 26));
    expect(decodeUtf8(input)).toBe(hostDecoder.decode(input));
    const withEuro = Uint8Array.from([...input, 0xe2, 0x82, 0xac]);
    expect(decodeUtf8(withEuro)).toBe(hostDecoder.decode(withEuro));
  });
});

describe('encodeUtf8', () => {
  it('encodes any string, lone surrogates included, as the host does', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 20 }),
        fc.string({ unit: 'grapheme', maxLength: 20 }),
        (a, b) => {
          const text = a + '\uD800' + b + '\uDC00';
          expect(encodeUtf8(text)).toEqual(hostEncoder.encode(text));
        },
      ),
    );
  });

  it('round-trips through decodeUtf8 for well-formed text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        expect(decodeUtf8(encodeUtf8(text))).toBe(text);
      }),
    );
  });
});

describe('isAscii', () => {
  it('is true only when every byte is below 0x80', () => {
    expect(isAscii(bytes(0x00, 0x7f))).toBe(true);
    expect(isAscii(bytes(0x61, 0x80))).toBe(false);
    expect(isAscii(new Uint8Array())).toBe(true);
  });
});
