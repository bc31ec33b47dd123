import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import sharp from 'sharp';
import { type InspectedImage, inspectImage } from './image-inspector.js';

const WIDTH = 37;
const HEIGHT = 23;
const opaque = () =>
  sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: { r: 200, g: 30, b: 90 } } });
const translucent = () =>
  sharp({ create: { width: WIDTH, height: HEIGHT, channels: 4, background: { r: 200, g: 30, b: 90, alpha: 0.5 } } });

/** A PNG chunk as an encoder writes it: length, type, data, CRC over type and data. */
function pngChunk(type: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}
/** Signature (8) + IHDR (25): where the second chunk starts. */
const AFTER_IHDR = 33;
const insertAt = (bytes: Buffer, offset: number, ...inserted: Buffer[]) =>
  Buffer.concat([bytes.subarray(0, offset), ...inserted, bytes.subarray(offset)]);
/** A copy of a PNG with IHDR fields overwritten (the CRC is left stale: it is not what the header is judged by). */
function withIhdr(png: Buffer, fields: { width?: number; height?: number; bitDepth?: number; colourType?: number }) {
  const copy = Buffer.from(png);
  if (fields.width !== undefined) copy.writeUInt32BE(fields.width, 16);
  if (fields.height !== undefined) copy.writeUInt32BE(fields.height, 20);
  if (fields.bitDepth !== undefined) copy[24] = fields.bitDepth;
  if (fields.colourType !== undefined) copy[25] = fields.colourType;
  return copy;
}

const jpegSegment = (marker: number, body: number[]) =>
  Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body]);
/** A baseline frame header: precision 8, height, width, one component (id 1, sampling 1x1, table 0). */
const sof0 = (width: number, height: number) =>
  jpegSegment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]);
const SOI = Buffer.from([0xff, 0xd8]);
/** A segment body that would pass for a 7x5 frame header. */
const LOOKS_LIKE_A_FRAME = [8, 0, 5, 0, 7, 1, 1, 0x11, 0];

const MIME_TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const;

/** What any answer must look like: either no answer, or a consistent one with a usable pixel size. */
function expectSane(result: InspectedImage | undefined): void {
  if (result === undefined) return;
  expect(result.mimeType).toBe(MIME_TYPES[result.format]);
  for (const side of [result.width, result.height]) {
    expect(Number.isSafeInteger(side)).toBe(true);
    expect(side).toBeGreaterThan(0);
  }
  expect(result.width * result.height).toBeLessThanOrEqual(2 ** 32);
  expect(typeof result.hasAlpha).toBe('boolean');
}

describe(inspectImage.name, () => {
  let fixtures: Record<string, Buffer>;

  beforeAll(async () => {
    const encoded = await Promise.all([
      opaque().png().toBuffer(),
      translucent().png().toBuffer(),
      translucent().png({ palette: true }).toBuffer(),
      opaque().png({ palette: true }).toBuffer(),
      translucent().toColourspace('b-w').png().toBuffer(),
      opaque().toColourspace('b-w').png().toBuffer(),
      opaque().jpeg().toBuffer(),
      opaque().jpeg({ progressive: true }).toBuffer(),
      opaque().webp().toBuffer(),
      opaque().webp({ lossless: true }).toBuffer(),
      translucent().webp({ lossless: true }).toBuffer(),
      translucent().webp().toBuffer(),
      opaque().gif().toBuffer(),
    ]);
    const names = [
      'png rgb',
      'png rgba',
      'png palette with transparency',
      'png palette',
      'png grey with alpha',
      'png grey',
      'jpeg baseline',
      'jpeg progressive',
      'webp lossy',
      'webp lossless',
      'webp lossless with alpha',
      'webp lossy with alpha',
      'gif',
    ];
    fixtures = Object.fromEntries(names.map((name, i) => [name, encoded[i]]));
  });

  /** How each fixture is laid out, so a change in sharp's encoder cannot quietly skip a code path. */
  const pngLayout = (bytes: Buffer) => `colour type ${bytes[25]}${bytes.includes('tRNS') ? ' + tRNS' : ''}`;
  const webpLayout = (bytes: Buffer) => bytes.toString('latin1', 12, 16);
  const jpegLayout = async (bytes: Buffer) => ((await sharp(bytes).metadata()).isProgressive ? 'SOF2' : 'SOF0');

  it.each([
    ['png rgb', 'png', false, pngLayout, 'colour type 2'],
    ['png rgba', 'png', true, pngLayout, 'colour type 6'],
    ['png palette with transparency', 'png', true, pngLayout, 'colour type 3 + tRNS'],
    ['png palette', 'png', false, pngLayout, 'colour type 3'],
    ['png grey with alpha', 'png', true, pngLayout, 'colour type 4'],
    ['png grey', 'png', false, pngLayout, 'colour type 0'],
    ['jpeg baseline', 'jpeg', false, jpegLayout, 'SOF0'],
    ['jpeg progressive', 'jpeg', false, jpegLayout, 'SOF2'],
    ['webp lossy', 'webp', false, webpLayout, 'VP8 '],
    ['webp lossless', 'webp', false, webpLayout, 'VP8L'],
    ['webp lossless with alpha', 'webp', true, webpLayout, 'VP8L'],
    ['webp lossy with alpha', 'webp', true, webpLayout, 'VP8X'],
  ] as const)('reads a %s image (%s, alpha %s) from its header', async (name, format, hasAlpha, layout, expected) => {
    const bytes = fixtures[name];
    expect(await layout(bytes)).toBe(expected);

    expect(inspectImage(bytes)).toEqual({
      format,
      mimeType: MIME_TYPES[format],
      width: WIDTH,
      height: HEIGHT,
      hasAlpha,
    });
  });

  it('reads the header alone: a file cut right after it still gives its size', () => {
    expect(inspectImage(fixtures['png rgba'].subarray(0, AFTER_IHDR))).toMatchObject({ width: WIDTH, height: HEIGHT });
    expect(inspectImage(fixtures['webp lossy'].subarray(0, 30))).toMatchObject({ width: WIDTH, height: HEIGHT });
  });

  describe('PNG', () => {
    it('counts a tRNS chunk before the image data as alpha for greyscale and truecolour', () => {
      const trns = pngChunk('tRNS', Buffer.from([0, 0]));
      const grey = insertAt(fixtures['png grey'], AFTER_IHDR, trns);
      const rgb = insertAt(fixtures['png rgb'], AFTER_IHDR, pngChunk('tRNS', Buffer.alloc(6)));

      expect(inspectImage(grey)).toMatchObject({ format: 'png', hasAlpha: true });
      expect(inspectImage(rgb)).toMatchObject({ format: 'png', hasAlpha: true });
    });

    it('ignores a tRNS chunk after the image data, where the format does not allow it', () => {
      const png = fixtures['png rgb'];
      const iend = png.length - 12;
      expect(png.toString('latin1', iend + 4, iend + 8)).toBe('IEND');

      const late = insertAt(png, iend, pngChunk('tRNS', Buffer.alloc(6)));

      expect(inspectImage(late)).toMatchObject({ format: 'png', hasAlpha: false });
    });

    it('walks past empty chunks to a tRNS behind them', () => {
      const empties = Array.from({ length: 5 }, () => pngChunk('teXt'));
      const png = insertAt(fixtures['png grey'], AFTER_IHDR, ...empties, pngChunk('tRNS', Buffer.from([0, 0])));

      expect(inspectImage(png)).toMatchObject({ hasAlpha: true });
    });

    it('refuses a file that piles up thousands of chunks before the image data', () => {
      const empties = Array.from({ length: 2000 }, () => pngChunk('teXt'));

      expect(inspectImage(insertAt(fixtures['png grey'], AFTER_IHDR, ...empties))).toBeUndefined();
    });

    it('stops at a chunk whose length runs past the end instead of reading beyond it', () => {
      const huge = Buffer.from([0xff, 0xff, 0xff, 0xff, ...Buffer.from('teXt')]);
      const png = insertAt(fixtures['png grey'], AFTER_IHDR, huge, pngChunk('tRNS', Buffer.from([0, 0])));

      expect(inspectImage(png)).toMatchObject({ width: WIDTH, height: HEIGHT, hasAlpha: false });
    });

    it.each([
      ['a zero width', { width: 0 }],
      ['a zero height', { height: 0 }],
      ['a side over 2^31 - 1', { width: 2 ** 31 }],
      ['more than 2^32 pixels', { width: 2 ** 31 - 1, height: 3 }],
      ['an unknown colour type', { colourType: 5 }],
      ['a bit depth its colour type does not allow', { colourType: 3, bitDepth: 16 }],
    ])('rejects an IHDR with %s', (_, fields) => {
      expect(inspectImage(withIhdr(fixtures['png rgb'], fields))).toBeUndefined();
    });

    it('accepts 2^32 pixels exactly', () => {
      expect(inspectImage(withIhdr(fixtures['png rgb'], { width: 65536, height: 65536 }))).toMatchObject({
        width: 65536,
        height: 65536,
      });
    });

    it('rejects a first chunk other than IHDR', () => {
      const png = Buffer.from(fixtures['png rgb']);
      png.write('IDAT', 12, 'latin1');

      expect(inspectImage(png)).toBeUndefined();
    });
  });

  describe('JPEG', () => {
    it('skips tables, fill bytes and standalone markers to the frame header, and takes DHT, JPG and DAC for what they are', () => {
      const jpeg = Buffer.concat([
        SOI,
        jpegSegment(0xe0, [...Buffer.from('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0]),
        // DHT, JPG and DAC share the SOF range; read as frame headers, these bodies would say 7x5.
        jpegSegment(0xc4, LOOKS_LIKE_A_FRAME),
        jpegSegment(0xc8, LOOKS_LIKE_A_FRAME),
        jpegSegment(0xcc, LOOKS_LIKE_A_FRAME),
        Buffer.from([0xff, 0xff, 0xff]), // fill bytes before the next marker
        Buffer.from([0xff, 0xd0]), // RST0 has no length
        sof0(WIDTH, HEIGHT),
      ]);

      expect(inspectImage(jpeg)).toEqual({
        format: 'jpeg',
        mimeType: 'image/jpeg',
        width: WIDTH,
        height: HEIGHT,
        hasAlpha: false,
      });
    });

    it.each([
      ['a scan before any frame header', Buffer.concat([SOI, jpegSegment(0xda, [1, 1, 0, 0, 63, 0]), sof0(8, 8)])],
      ['a height deferred to a DNL marker', Buffer.concat([SOI, sof0(WIDTH, 0)])],
      ['a zero width', Buffer.concat([SOI, sof0(0, HEIGHT)])],
      ['a segment running past the end', Buffer.concat([SOI, Buffer.from([0xff, 0xe1, 0x40, 0x00, 1, 2, 3])])],
      ['a segment length under 2', Buffer.concat([SOI, Buffer.from([0xff, 0xe1, 0x00, 0x01]), sof0(8, 8)])],
      [
        'a frame header whose length does not match its components',
        Buffer.concat([SOI, jpegSegment(0xc0, [8, 0, 8, 0, 8, 2, 1, 0x11, 0])]),
      ],
      ['a frame header without the 0xFF before its marker', Buffer.concat([SOI, sof0(8, 8).subarray(1)])],
      ['an end of image before any frame header', Buffer.concat([SOI, Buffer.from([0xff, 0xd9]), sof0(8, 8)])],
      ['nothing but fill bytes', Buffer.concat([SOI, Buffer.alloc(64, 0xff)])],
    ])('rejects %s', (_, jpeg) => {
      expect(inspectImage(jpeg)).toBeUndefined();
    });
  });

  describe('WebP', () => {
    it('reads alpha from the VP8X flags, not from the chunks that follow', () => {
      const webp = Buffer.from(fixtures['webp lossy with alpha']);
      webp[20] &= ~0x10;

      expect(inspectImage(webp)).toMatchObject({ format: 'webp', width: WIDTH, height: HEIGHT, hasAlpha: false });
    });

    it('reads a VP8X canvas larger than 16383 pixels, which only the extended format can carry', () => {
      const webp = Buffer.from(fixtures['webp lossy with alpha']);
      webp.writeUIntLE(40_000 - 1, 24, 3);

      expect(inspectImage(webp)).toMatchObject({ width: 40_000, height: HEIGHT });
    });

    it.each([
      ['a first chunk larger than the RIFF', (webp: Buffer) => webp.writeUInt32LE(8, 4)],
      ['a lossy frame without the start code', (webp: Buffer) => (webp[23] = 0)],
      ['a lossy frame that is not a key frame', (webp: Buffer) => (webp[20] |= 1)],
      ['a lossy frame of zero width', (webp: Buffer) => webp.writeUInt16LE(0, 26)],
      ['an unknown first chunk', (webp: Buffer) => webp.write('ALPH', 12, 'latin1')],
    ])('rejects %s', (_, corrupt) => {
      const webp = Buffer.from(fixtures['webp lossy']);
      corrupt(webp);

      expect(inspectImage(webp)).toBeUndefined();
    });

    it.each([
      ['a wrong signature byte', (webp: Buffer) => (webp[20] = 0x2e)],
      ['an unknown version', (webp: Buffer) => (webp[24] |= 0x20)],
    ])('rejects a lossless frame with %s', (_, corrupt) => {
      const webp = Buffer.from(fixtures['webp lossless']);
      corrupt(webp);

      expect(inspectImage(webp)).toBeUndefined();
    });

    it('rejects a VP8X chunk of the wrong size', () => {
      const webp = Buffer.from(fixtures['webp lossy with alpha']);
      webp.writeUInt32LE(12, 16);

      expect(inspectImage(webp)).toBeUndefined();
    });
  });

  it.each([
    ['an empty buffer', () => Buffer.alloc(0)],
    ['a text file', () => Buffer.from('hello\n')],
    ['a PNG cut after its signature', () => fixtures['png rgb'].subarray(0, 8)],
    ['a PNG cut in the middle of IHDR', () => fixtures['png rgb'].subarray(0, 20)],
    ['a JPEG that is only SOI', () => SOI],
    ['a JPEG cut inside its first segment', () => fixtures['jpeg baseline'].subarray(0, 10)],
    ['a WebP cut inside its first chunk header', () => fixtures['webp lossy'].subarray(0, 18)],
    ['a RIFF that is WAVE audio', () => Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00', 'latin1')],
    ['a GIF', () => fixtures.gif],
  ])('returns undefined for %s', (_, bytes) => {
    expect(inspectImage(bytes())).toBeUndefined();
  });

  describe('on arbitrary bytes', () => {
    const realImages = () => fc.constantFrom(...Object.values(fixtures).filter((bytes) => inspectImage(bytes)));

    it('never throws on random bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => expectSane(inspectImage(Buffer.from(bytes)))),
      );
    });

    it('never throws on random bytes behind a real signature', () => {
      const signatures = fc.constantFrom(
        fixtures['png rgb'].subarray(0, 16),
        SOI,
        fixtures['webp lossy'].subarray(0, 16),
        fixtures['webp lossless'].subarray(0, 16),
        fixtures['webp lossy with alpha'].subarray(0, 16),
      );
      fc.assert(
        fc.property(signatures, fc.uint8Array({ maxLength: 256 }), (head, tail) =>
          expectSane(inspectImage(Buffer.concat([head, tail]))),
        ),
      );
    });

    it('gives for a truncated image either nothing or the size of the whole', () => {
      fc.assert(
        fc.property(realImages(), fc.nat(), (bytes, cut) => {
          const whole = inspectImage(bytes)!;
          const result = inspectImage(bytes.subarray(0, cut % bytes.length));
          expectSane(result);
          if (result) expect(result).toMatchObject({ format: whole.format, width: whole.width, height: whole.height });
        }),
      );
    });

    it('never throws on an image with random bytes changed', () => {
      // Mostly in the first 64 bytes, where the headers are; sometimes anywhere.
      const position = fc.oneof({ arbitrary: fc.nat({ max: 63 }), weight: 3 }, { arbitrary: fc.nat(), weight: 1 });
      const flips = fc.array(fc.tuple(position, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });
      fc.assert(
        fc.property(realImages(), flips, (bytes, changes) => {
          const corrupted = Buffer.from(bytes);
          for (const [at, value] of changes) corrupted[at % corrupted.length] = value;
          expectSane(inspectImage(corrupted));
        }),
      );
    });
  });
});
