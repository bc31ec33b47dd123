import type { ImageSizeTier, ModelCapabilities } from '../config/models.catalogue.js';

/** What of a validated request decides how many bytes its answer can hold. */
export interface ResponseShape {
  /** Images asked for (0 for a chat request that asks for text only). */
  n: number;
  /** `WxH`, or `auto` (the upstream picks). */
  size: string;
  /** The resolution tier asked for (`image_size`), which sets the pixels whatever `size` says. */
  imageSize?: string;
  /** `png`, `jpeg` or `webp`; unset (chat): unknown, so the largest. */
  outputFormat?: string;
  /** A streamed request's partial images per image, each as large as the image. */
  partialImages?: number;
}

/** Bytes per pixel of each format uncompressed (RGBA; RGB for JPEG): more than its encoder writes. */
const BYTES_PER_PIXEL: Record<string, number> = { png: 4, jpeg: 3, webp: 4 };
const UNKNOWN_FORMAT_BYTES_PER_PIXEL = 4;
/** A tier's pixels, about those of its square at every aspect ratio (1K 16:9 is 1376x768). */
const TIER_EDGE: Record<ImageSizeTier, number> = { '512': 512, '1K': 1024, '2K': 2048, '4K': 4096 };
/** The upstream's default resolution (1K) where the model lists no size to bound `auto` by. */
const DEFAULT_EDGE = 1024;

/**
 * An upper bound of the bytes Easel holds for one request's answer: every image (and partial
 * image) as base64 — the form the upstream sends it in and a `b64_json` answer or a chat data URL
 * keeps it in — of its pixels at the format's uncompressed bytes per pixel. A real image is
 * smaller (a 1024x1024 PNG from gpt-image is 1-3 MB, bounded here at 4 MiB, 5.6 MB in base64).
 * The pixels: the tier's when `image_size` is asked for, the size's when it is `WxH` (a custom
 * size too, validated by then), else (`auto`) the largest size the model lists.
 * `MAX_IN_FLIGHT_BYTES` counts the answers in flight by this (`InFlightBytes`).
 */
export function estimateResponseBytes(capabilities: ModelCapabilities, shape: ResponseShape): number {
  const images = shape.n * (1 + (shape.partialImages ?? 0));
  if (images === 0) return 0;
  const bytesPerPixel = shape.outputFormat
    ? (BYTES_PER_PIXEL[shape.outputFormat] ?? UNKNOWN_FORMAT_BYTES_PER_PIXEL)
    : UNKNOWN_FORMAT_BYTES_PER_PIXEL;
  return images * base64Length(pixelsOf(capabilities, shape) * bytesPerPixel);
}

function pixelsOf(capabilities: ModelCapabilities, { size, imageSize }: ResponseShape): number {
  const edge = imageSize === undefined ? undefined : TIER_EDGE[imageSize as ImageSizeTier];
  if (edge !== undefined) return edge * edge;
  if (size !== 'auto') return pixelsOfSize(size) ?? DEFAULT_EDGE * DEFAULT_EDGE;
  const listed = capabilities.sizes.map(pixelsOfSize).filter((pixels) => pixels !== undefined);
  return listed.length > 0 ? Math.max(...listed) : DEFAULT_EDGE * DEFAULT_EDGE;
}

function pixelsOfSize(size: string): number | undefined {
  const match = /^(\d+)x(\d+)$/.exec(size);
  return match ? Number(match[1]) * Number(match[2]) : undefined;
}

/** The length of `bytes` bytes in base64 (padded). */
function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}
