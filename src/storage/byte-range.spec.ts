import { errorThrownBy } from '../../test/utils/thrown-error.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { parseRangeHeader, resolveByteRange } from './byte-range.js';

describe(parseRangeHeader.name, () => {
  it.each([
    ['bytes=0-99', { first: 0, last: 99 }],
    ['bytes=100-', { first: 100, last: undefined }],
    ['bytes=-50', { suffix: 50 }],
    [' bytes=7-7 ', { first: 7, last: 7 }],
  ])('reads %s', (header, expected) => {
    expect(parseRangeHeader(header)).toEqual(expected);
  });

  it.each<[string | undefined, string]>([
    [undefined, 'no header'],
    ['', 'empty'],
    ['bytes=', 'no range'],
    ['bytes=-', 'neither end'],
    ['items=0-1', 'a unit other than bytes'],
    ['bytes=0-1,3-4', 'several ranges'],
    ['bytes=5-2', 'the last byte before the first'],
    ['bytes=1e3-', 'not a run of digits'],
    ['bytes=9999999999999999-', 'more than 15 digits'],
  ])('ignores %p (%s), so the whole image is served', (header) => {
    expect(parseRangeHeader(header)).toBeUndefined();
  });
});

describe(resolveByteRange.name, () => {
  it.each([
    [
      { first: 0, last: 99 },
      { start: 0, end: 99 },
    ],
    [{ first: 10 }, { start: 10, end: 999 }],
    [
      { first: 10, last: 5000 },
      { start: 10, end: 999 },
    ],
    [{ suffix: 50 }, { start: 950, end: 999 }],
    [{ suffix: 5000 }, { start: 0, end: 999 }],
  ])('selects %p of 1000 bytes as %p', (spec, expected) => {
    expect(resolveByteRange(spec, 1000)).toEqual(expected);
  });

  it.each([[{ first: 1000 }], [{ suffix: 0 }], [{ first: 0, last: 0 }, 0]])(
    'refuses %p with 416 and the size',
    (spec, size = 1000) => {
      expect(errorThrownBy(() => resolveByteRange(spec, size), GatewayError)).toMatchObject({
        code: 'range_not_satisfiable',
        headers: { 'content-range': `bytes */${size}` },
      });
    },
  );
});
