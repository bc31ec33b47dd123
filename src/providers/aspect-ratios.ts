import type { ImageSizeTier } from '../config/models.catalogue.js';

interface Pixels {
  width: number;
  height: number;
}

/** Gemini's ten aspect ratios and the pixel size each produces on Gemini 2.5 Flash Image (upstreams.md §3.5). */
export const GEMINI_ASPECT_RATIOS: Record<string, Pixels> = {
  '1:1': { width: 1024, height: 1024 },
  '2:3': { width: 832, height: 1248 },
  '3:2': { width: 1248, height: 832 },
  '3:4': { width: 864, height: 1184 },
  '4:3': { width: 1184, height: 864 },
  '4:5': { width: 896, height: 1152 },
  '5:4': { width: 1152, height: 896 },
  '9:16': { width: 768, height: 1344 },
  '16:9': { width: 1344, height: 768 },
  '21:9': { width: 1536, height: 672 },
};

/**
 * The same ratios on the Gemini 3 image models at 1K, their default tier (models-and-edits-2026.md
 * §3.3: ⚠️ a mirror of Google's table, matching sizes seen in live tests).
 */
const GEMINI_3_ASPECT_RATIOS: Record<string, Pixels> = {
  '1:1': { width: 1024, height: 1024 },
  '2:3': { width: 848, height: 1264 },
  '3:2': { width: 1264, height: 848 },
  '3:4': { width: 896, height: 1200 },
  '4:3': { width: 1200, height: 896 },
  '4:5': { width: 928, height: 1152 },
  '5:4': { width: 1152, height: 928 },
  '9:16': { width: 768, height: 1376 },
  '16:9': { width: 1376, height: 768 },
  '21:9': { width: 1584, height: 672 },
};

/**
 * Each tier scales the 1K size: in Google's table 2K and 4K are exactly twice and four times it
 * (16:9: 2752x1536, 5504x3072). 512 is half of it: ⚠️ derived, from the one 512 size integrators
 * report (16:9: about 688x384).
 */
const TIER_SCALE: Record<ImageSizeTier, number> = { '512': 0.5, '1K': 1, '2K': 2, '4K': 4 };

/**
 * Which table a model's images follow. Only the Gemini 3 generation has size tiers, so a model
 * whose catalogue lists `image_sizes` follows `gemini-3`, the others Gemini 2.5's.
 */
export type GeminiPixelTable = 'gemini-2.5' | 'gemini-3';

export function pixelTableOf(imageSizes: readonly ImageSizeTier[]): GeminiPixelTable {
  return imageSizes.length > 0 ? 'gemini-3' : 'gemini-2.5';
}

/** `WxH` Gemini makes for a ratio (one of the ten) and tier (unset: 1K, Gemini's default). */
export function geminiImageSize(table: GeminiPixelTable, aspectRatio: string, imageSize?: ImageSizeTier): string {
  if (table === 'gemini-2.5') {
    const { width, height } = GEMINI_ASPECT_RATIOS[aspectRatio]!;
    return `${width}x${height}`;
  }
  const { width, height } = GEMINI_3_ASPECT_RATIOS[aspectRatio]!;
  const scale = TIER_SCALE[imageSize ?? '1K'];
  return `${width * scale}x${height * scale}`;
}

/** The ratio closest to `WxH` (by log of the ratio, so 3:2 and 2:3 are equally far from 1:1). */
export function closestAspectRatio(size: string): string {
  if (size === 'auto') return '1:1';
  const [width, height] = size.split('x').map(Number) as [number, number];
  const target = Math.log(width / height);
  let best = '1:1';
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const [ratio, pixels] of Object.entries(GEMINI_ASPECT_RATIOS)) {
    const distance = Math.abs(Math.log(pixels.width / pixels.height) - target);
    if (distance < bestDistance) [best, bestDistance] = [ratio, distance];
  }
  return best;
}
