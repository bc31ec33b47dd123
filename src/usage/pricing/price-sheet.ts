import type { Pico } from '../../common/money/usd.js';

/** One model's prices: USD per million tokens by kind (pico-dollars), plus a price per image. */
export interface PriceSheet {
  inputText: Pico;
  inputTextCached: Pico;
  inputImage: Pico;
  inputImageCached: Pico;
  outputText: Pico;
  outputImage: Pico;
  perImage: Pico;
}

export const PRICE_KINDS: ReadonlyArray<keyof PriceSheet> = [
  'inputText',
  'inputTextCached',
  'inputImage',
  'inputImageCached',
  'outputText',
  'outputImage',
  'perImage',
];

/** Builds a record with one entry per price kind. */
export function mapPriceKinds<T>(value: (kind: keyof PriceSheet) => T): Record<keyof PriceSheet, T> {
  return Object.fromEntries(PRICE_KINDS.map((kind) => [kind, value(kind)])) as Record<keyof PriceSheet, T>;
}
