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
