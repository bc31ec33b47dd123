/** Gemini's ten aspect ratios and the pixel size each produces (upstreams.md §3.5). */
export const GEMINI_ASPECT_RATIOS: Record<string, { width: number; height: number }> = {
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
