/** The longest side of a preview, in pixels. */
export const THUMBNAIL_EDGE = 128;
/** What every preview is stored and served as. */
export const THUMBNAIL_CONTENT_TYPE = 'image/webp';
/**
 * The largest image a preview is made of (8192 × 8192): generated images are at most 4K, so a
 * larger one is not worth decoding (its pixels alone would take 256 MB).
 */
const MAX_INPUT_PIXELS = 8192 * 8192;

/** sharp (libvips, some 30 MB resident) is loaded when the first preview is made, never when previews are off. */
let sharpModule: Promise<typeof import('sharp')> | undefined;
const loadSharp = async () => (await (sharpModule ??= import('sharp'))).default;

export interface Thumbnail {
  bytes: Buffer;
  width: number;
  height: number;
}

/**
 * A preview of a PNG, JPEG or WebP (GIF, AVIF, TIFF too: whatever libvips reads, first frame):
 * WebP, its longest side `THUMBNAIL_EDGE` (never enlarged: a smaller image keeps its size), its
 * aspect ratio kept and its alpha channel with it (a transparent background stays transparent),
 * turned upright by its EXIF orientation. Rejects what is not an image it can read.
 */
export async function makeThumbnail(image: Buffer): Promise<Thumbnail> {
  const sharp = await loadSharp();
  const { data, info } = await sharp(image, {
    failOn: 'error',
    sequentialRead: true,
    limitInputPixels: MAX_INPUT_PIXELS,
  })
    .rotate()
    .resize({ width: THUMBNAIL_EDGE, height: THUMBNAIL_EDGE, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75, alphaQuality: 90, effort: 4 })
    .toBuffer({ resolveWithObject: true });
  return { bytes: data, width: info.width, height: info.height };
}
