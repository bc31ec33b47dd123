import { Injectable } from '@nestjs/common';
import type { Pico } from '../../common/money/usd.js';
import { type ModelDefinition, tierTable } from '../../config/models.catalogue.js';
import type { PriceSheet } from './price-sheet.js';
import { PricingService } from './pricing.service.js';

export interface ImageRequestShape {
  prompt: string;
  n: number;
  size: string;
  quality?: string;
  /** The output resolution tier asked for (`image_size`); unset: the upstream's default, 1K. */
  imageSize?: string;
  /** An edit's input images (the mask is not billed as one). */
  inputImages?: number;
}

/** About four characters of English per text token; an estimate, never a bill. */
const CHARS_PER_TOKEN = 4;

/**
 * What an image request will cost before it is sent, for budget checks: the prompt's text tokens,
 * an edit's input images at the catalogue's `input_image_tokens` each, sent once per upstream
 * call (`candidates_per_call` splits `n` into calls), and per image the catalogue's output token
 * count for its quality and size, or its size tier. Where the request
 * leaves them to the upstream (`auto`), the dearest case is assumed, so a budget is never overrun
 * by an estimate that was too low.
 */
@Injectable()
export class CostEstimator {
  constructor(private readonly pricing: PricingService) {}

  estimateImages(model: ModelDefinition, prices: PriceSheet, request: ImageRequestShape): Pico {
    const perImage = outputTokensPerImage(model, request);
    const calls = model.candidatesPerCall ? Math.ceil(request.n / model.candidatesPerCall) : 1;
    return this.pricing.cost(
      {
        inputTextTokens: Math.ceil(request.prompt.length / CHARS_PER_TOKEN) * calls,
        inputImageTokens: (model.estimate?.input_image_tokens ?? 0) * (request.inputImages ?? 0) * calls,
        cachedInputTokens: 0,
        outputTextTokens: 0,
        outputImageTokens: perImage * request.n,
        images: request.n,
      },
      prices,
    );
  }
}

function outputTokensPerImage(model: ModelDefinition, { quality, size, imageSize }: ImageRequestShape): number {
  const table = model.estimate?.output_image_tokens;
  if (table === undefined) return 0;
  if (typeof table === 'number') return table;
  const byTier = tierTable(table);
  if (byTier) return byTier[(imageSize ?? '1K') as keyof typeof byTier] ?? Math.max(...Object.values(byTier));
  const byQuality = table as Record<string, Record<string, number>>;
  const qualities =
    quality && quality !== 'auto' && byQuality[quality] ? [byQuality[quality]] : Object.values(byQuality);
  const counts = qualities.flatMap((bySize) => {
    if (size === 'auto') return Object.values(bySize);
    if (bySize[size] !== undefined) return [bySize[size]];
    // A size the table lacks (a custom size): the dearest rate per pixel of the table, at its pixels.
    return Object.entries(bySize).map(([listed, tokens]) => Math.ceil((tokens * pixelsOf(size)) / pixelsOf(listed)));
  });
  return counts.length === 0 ? 0 : Math.max(...counts);
}

function pixelsOf(size: string): number {
  const [width, height] = size.split('x').map(Number);
  return width! * height! || 1;
}
