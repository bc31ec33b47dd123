import { fileURLToPath } from 'node:url';
import { formatUsd, parseUsd } from '../../common/money/usd.js';
import { loadModelCatalogue } from '../../config/models.catalogue.js';
import type { UsageMeasure } from '../usage-measure.js';
import type { PriceSheet } from './price-sheet.js';
import { PricingService } from './pricing.service.js';

const CATALOGUE = fileURLToPath(new URL('../../../config/models.yaml', import.meta.url));

function pricesOf(modelId: string): PriceSheet {
  const model = loadModelCatalogue(CATALOGUE).find((candidate) => candidate.id === modelId);
  if (!model) throw new Error(`${modelId} is not in the catalogue`);
  return model.prices;
}

function usage(overrides: Partial<UsageMeasure>): UsageMeasure {
  return {
    inputTextTokens: 0,
    inputImageTokens: 0,
    cachedInputTokens: 0,
    outputTextTokens: 0,
    outputImageTokens: 0,
    images: 1,
    ...overrides,
  };
}

function sheet(overrides: Partial<Record<keyof PriceSheet, string>>): PriceSheet {
  const usd = (key: keyof PriceSheet) => parseUsd(overrides[key] ?? '0');
  return {
    inputText: usd('inputText'),
    inputTextCached: usd('inputTextCached'),
    inputImage: usd('inputImage'),
    inputImageCached: usd('inputImageCached'),
    outputText: usd('outputText'),
    outputImage: usd('outputImage'),
    perImage: usd('perImage'),
  };
}

describe(PricingService.name, () => {
  let sut: PricingService;

  beforeEach(() => {
    sut = new PricingService();
  });

  describe('azure/openai/gpt-image-1 (text in 5, image in 10, image out 40 per 1M)', () => {
    const prices = pricesOf('azure/openai/gpt-image-1');

    it.each([
      // (T*5 + 544*40) / 1e6
      [50, '0.02201'], // 250 + 21760 = 22010
      [1, '0.021765'], // 5 + 21760 = 21765
      [0, '0.02176'], // 21760
      [1234, '0.02793'], // 6170 + 21760 = 27930
    ])('%i text tokens and 544 output image tokens cost %s USD', (textTokens, expected) => {
      const cost = sut.cost(usage({ inputTextTokens: textTokens, outputImageTokens: 544 }), prices);

      expect(formatUsd(cost)).toBe(expected);
    });

    it('bills input image tokens at 10 per million', () => {
      // 1000*5 + 500*10 + 4160*40 = 5000 + 5000 + 166400 = 176400
      const cost = sut.cost(usage({ inputTextTokens: 1000, inputImageTokens: 500, outputImageTokens: 4160 }), prices);

      expect(formatUsd(cost)).toBe('0.1764');
    });

    it('bills cached text tokens at the cached rate (1.25) and the rest at the full rate', () => {
      // 60*5 + 40*1.25 = 300 + 50 = 350
      const cost = sut.cost(usage({ inputTextTokens: 100, cachedInputTokens: 40 }), prices);

      expect(formatUsd(cost)).toBe('0.00035');
    });

    it('bills cached tokens beyond the text tokens as cached image tokens (2.50)', () => {
      // text 30 all cached: 30*1.25 = 37.5; image 20 cached: 20*2.5 = 50; image 80 full: 80*10 = 800
      const cost = sut.cost(usage({ inputTextTokens: 30, inputImageTokens: 100, cachedInputTokens: 50 }), prices);

      expect(formatUsd(cost)).toBe('0.0008875');
    });

    it('is exact at a single token', () => {
      expect(formatUsd(sut.cost(usage({ inputTextTokens: 1 }), prices))).toBe('0.000005');
      expect(formatUsd(sut.cost(usage({ inputTextTokens: 1, cachedInputTokens: 1 }), prices))).toBe('0.00000125');
    });

    it('charges nothing for output text, which it has no price for', () => {
      expect(sut.cost(usage({ outputTextTokens: 1_000_000 }), prices)).toBe(0n);
    });
  });

  describe('azure/openai/gpt-image-1.5 (text in 5, image in 8, image out 32, text out 10 per 1M)', () => {
    const prices = pricesOf('azure/openai/gpt-image-1.5');

    it('bills every kind at its own rate', () => {
      // 50*5 + 200*8 + 1056*32 + 20*10 = 250 + 1600 + 33792 + 200 = 35842
      const cost = sut.cost(
        usage({ inputTextTokens: 50, inputImageTokens: 200, outputImageTokens: 1056, outputTextTokens: 20 }),
        prices,
      );

      expect(formatUsd(cost)).toBe('0.035842');
    });

    it('bills 50 text tokens and 544 output image tokens at (50*5 + 544*32)/1e6', () => {
      // 250 + 17408 = 17658
      expect(formatUsd(sut.cost(usage({ inputTextTokens: 50, outputImageTokens: 544 }), prices))).toBe('0.017658');
    });

    it('bills cached tokens at 1.25 (text) then 2.00 (image)', () => {
      // text 10 cached: 12.5; image 5 cached: 10; image 95 full: 760
      const cost = sut.cost(usage({ inputTextTokens: 10, inputImageTokens: 100, cachedInputTokens: 15 }), prices);

      expect(formatUsd(cost)).toBe('0.0007825');
    });
  });

  describe('Gemini 2.5 Flash Image list prices (input 0.30, text out 2.50, image out 30 per 1M)', () => {
    const gemini = sheet({ inputText: '0.30', inputImage: '0.30', outputText: '2.50', outputImage: '30' });

    it('reproduces the published per-request example: 6 in, 9 text out, 1290 image out = $0.0387243', () => {
      const cost = sut.cost(usage({ inputTextTokens: 6, outputTextTokens: 9, outputImageTokens: 1290 }), gemini);
      expect(formatUsd(cost)).toBe('0.0387243');
    });

    it('bills an input image at the input rate', () => {
      const cost = sut.cost(usage({ inputTextTokens: 10, inputImageTokens: 1290, outputImageTokens: 1290 }), gemini);
      expect(formatUsd(cost)).toBe('0.03909'); // (1300 × 0.30 + 1290 × 30) / 1e6
    });
  });

  describe('local/easel/sketch', () => {
    it('is free', () => {
      const prices = pricesOf('local/easel/sketch');

      expect(sut.cost(usage({ inputTextTokens: 999, images: 10 }), prices)).toBe(0n);
    });
  });

  describe('per-image prices', () => {
    it('multiplies the per-image price by the number of images', () => {
      const cost = sut.cost(usage({ images: 3 }), sheet({ perImage: '0.04' }));

      expect(formatUsd(cost)).toBe('0.12');
    });

    it('adds the per-image price to the token cost', () => {
      // 3 * 0.011 + (1000*2)/1e6 = 0.033 + 0.002
      const cost = sut.cost(usage({ images: 3, inputTextTokens: 1000 }), sheet({ perImage: '0.011', inputText: '2' }));

      expect(formatUsd(cost)).toBe('0.035');
    });

    it('charges nothing per image when no image was produced', () => {
      expect(sut.cost(usage({ images: 0 }), sheet({ perImage: '0.04' }))).toBe(0n);
    });
  });

  describe('invalid usage', () => {
    const prices = sheet({ inputText: '5', outputImage: '40' });

    it.each<[keyof UsageMeasure, number]>([
      ['inputTextTokens', -1],
      ['inputImageTokens', -5],
      ['outputTextTokens', 1.5],
      ['outputImageTokens', 0.1],
      ['cachedInputTokens', -1],
      ['inputTextTokens', Number.NaN],
      ['outputImageTokens', Number.POSITIVE_INFINITY],
    ])('rejects %s = %p', (field, value) => {
      expect(() => sut.cost(usage({ [field]: value }), prices)).toThrow(RangeError);
    });
  });
});
