import sharp from 'sharp';
import { makeThumbnail, THUMBNAIL_EDGE } from './thumbnail.image.js';

/** A `width` × `height` image in `format`: opaque red, or red on a transparent background. */
async function image(
  width: number,
  height: number,
  format: 'png' | 'jpeg' | 'webp',
  transparent = false,
): Promise<Buffer> {
  const background = transparent ? { r: 0, g: 0, b: 0, alpha: 0 } : { r: 200, g: 30, b: 30, alpha: 1 };
  const base = sharp({ create: { width, height, channels: 4, background } });
  if (transparent) {
    const square = await sharp({
      create: { width: width / 2, height: height / 2, channels: 4, background: { r: 200, g: 30, b: 30, alpha: 1 } },
    })
      .png()
      .toBuffer();
    base.composite([{ input: square, left: width / 4, top: height / 4 }]);
  }
  return base.toFormat(format).toBuffer();
}

describe(makeThumbnail.name, () => {
  it.each([
    [1024, 1024, 'png', 128, 128],
    [1536, 1024, 'png', 128, 85],
    [1024, 1536, 'jpeg', 85, 128],
    [1792, 1024, 'webp', 128, 73],
  ] as const)(
    'makes a WebP of a %dx%d %s with its longest side 128 px and its aspect ratio (%dx%d)',
    async (width, height, format, expectedWidth, expectedHeight) => {
      const sut = await makeThumbnail(await image(width, height, format));

      const metadata = await sharp(sut.bytes).metadata();
      expect(metadata).toMatchObject({ format: 'webp', width: expectedWidth, height: expectedHeight });
      expect(sut).toMatchObject({ width: expectedWidth, height: expectedHeight });
      expect(Math.max(sut.width, sut.height)).toBe(THUMBNAIL_EDGE);
    },
  );

  it('keeps transparency: the corners stay transparent, the middle opaque', async () => {
    const sut = await makeThumbnail(await image(512, 512, 'png', true));

    const { data, info } = await sharp(sut.bytes).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    const alphaAt = (x: number, y: number) => data[(y * info.width + x) * 4 + 3];
    expect(alphaAt(2, 2)).toBe(0);
    expect(alphaAt(info.width - 3, info.height - 3)).toBe(0);
    expect(alphaAt(info.width / 2, info.height / 2)).toBe(255);
  });

  it('leaves an opaque image without an alpha channel', async () => {
    const sut = await makeThumbnail(await image(256, 256, 'jpeg'));

    expect((await sharp(sut.bytes).metadata()).hasAlpha).toBe(false);
  });

  it('never enlarges an image smaller than the preview', async () => {
    const sut = await makeThumbnail(await image(64, 32, 'png'));

    expect(sut).toMatchObject({ width: 64, height: 32 });
  });

  it('is small: a 1024x1024 picture becomes a few kilobytes', async () => {
    const noisy = await sharp(Buffer.from(Array.from({ length: 1024 * 1024 * 3 }, (_, i) => (i * 7919) % 251)), {
      raw: { width: 1024, height: 1024, channels: 3 },
    })
      .png()
      .toBuffer();

    const sut = await makeThumbnail(noisy);

    expect(sut.bytes.length).toBeLessThan(20_000);
  });

  it('rejects bytes that are not an image', async () => {
    await expect(makeThumbnail(Buffer.from('not an image at all'))).rejects.toThrow();
  });
});
