import { Injectable } from '@nestjs/common';
import type { Pico } from '../../common/money/usd.js';
import type { UsageMeasure } from '../usage-measure.js';
import type { PriceSheet } from './price-sheet.js';

const MILLION = 1_000_000n;

/**
 * Pure cost arithmetic: usage × prices, exact. Cached input tokens are billed at the cached rate
 * and the rest of the input at the full rate; image and text output at their own rates.
 */
@Injectable()
export class PricingService {
  cost(usage: UsageMeasure, prices: PriceSheet): Pico {
    const cachedText = Math.min(usage.cachedInputTokens, usage.inputTextTokens);
    const cachedImage = Math.min(usage.cachedInputTokens - cachedText, usage.inputImageTokens);
    const perToken =
      tokens(usage.inputTextTokens - cachedText) * prices.inputText +
      tokens(cachedText) * prices.inputTextCached +
      tokens(usage.inputImageTokens - cachedImage) * prices.inputImage +
      tokens(cachedImage) * prices.inputImageCached +
      tokens(usage.outputTextTokens) * prices.outputText +
      tokens(usage.outputImageTokens) * prices.outputImage;
    // Prices have at most six decimals per million tokens, so this division is exact.
    return perToken / MILLION + BigInt(usage.images) * prices.perImage;
  }
}

function tokens(count: number): bigint {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`invalid token count ${count}`);
  return BigInt(count);
}
