import { Injectable } from '@nestjs/common';
import type { Pico } from '../../common/money/usd.js';
import type { ModelDefinition } from '../../config/models.catalogue.js';
import type { PriceSheet } from './price-sheet.js';
import { PricingService } from './pricing.service.js';

export interface ImageRequestShape {
  prompt: string;
  n: number;
  size: string;
  quality?: string;
  /** An edit's input images (the mask is not billed as one). */
  inputImages?: number;
}

/** About four characters of English per text token; an estimate, never a bill. */
const CHARS_PER_TOKEN = 4;

/**
 * What an image request will cost before it is sent, for budget checks: the prompt's text tokens,
 * an edit's input images at the catalogue's `input_image_tokens` each, and per image the
 * catalogue's output token count for its quality and size. Where the request
 * leaves them to the upstream (`auto`), the dearest case is assumed, so a budget is never overrun
 * by an estimate that was too low.
 */
@Injectable()
export class CostEstimator {
  constructor(private readonly pricing: PricingService) {}

  estimateImages(model: ModelDefinition, prices: PriceSheet, request: ImageRequestShape): Pico {
    const perImage = outputTokensPerImage(model, request.quality, request.size);
    return this.pricing.cost(
      {
        inputTextTokens: Math.ceil(request.prompt.length / CHARS_PER_TOKEN),
        inputImageTokens: (model.estimate?.input_image_tokens ?? 0) * (request.inputImages ?? 0),
        cachedInputTokens: 0,
        outputTextTokens: 0,
        outputImageTokens: perImage * request.n,
        images: request.n,
      },
      prices,
    );
  }
}

function outputTokensPerImage(model: ModelDefinition, quality: string | undefined, size: string): number {
  const table = model.estimate?.output_image_tokens;
  if (table === undefined) return 0;
  if (typeof table === 'number') return table;
  const qualities = quality && quality !== 'auto' && table[quality] ? [table[quality]] : Object.values(table);
  const counts = qualities.flatMap((bySize) =>
    size !== 'auto' && bySize[size] !== undefined ? [bySize[size]] : Object.values(bySize),
  );
  return counts.length === 0 ? 0 : Math.max(...counts);
}
