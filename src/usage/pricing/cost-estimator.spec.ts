import { join } from 'node:path';
import { formatUsd } from '../../common/money/usd.js';
import { loadModelCatalogue, type ModelDefinition } from '../../config/models.catalogue.js';
import { CostEstimator } from './cost-estimator.js';
import { PricingService } from './pricing.service.js';

describe(CostEstimator.name, () => {
  const catalogue = loadModelCatalogue(join(process.cwd(), 'config/models.yaml'));
  const model = (id: string): ModelDefinition => catalogue.find((m) => m.id === id)!;
  const sut = new CostEstimator(new PricingService());
  const estimate = (
    id: string,
    request: { prompt: string; n: number; size: string; quality?: string; imageSize?: string; inputImages?: number },
  ) => formatUsd(sut.estimateImages(model(id), model(id).prices, request));

  it('prices the token table for the quality and size asked (gpt-image-1, medium 1024x1024)', () => {
    // prompt of 40 chars → 10 text tokens; 1056 output tokens per image; n = 2
    expect(
      estimate('azure/openai/gpt-image-1', { prompt: 'x'.repeat(40), n: 2, size: '1024x1024', quality: 'medium' }),
    ).toBe(
      '0.08453', // (10 × 5 + 2112 × 40) / 1e6
    );
  });

  it('assumes the dearest quality and size when they are left to the upstream', () => {
    expect(estimate('azure/openai/gpt-image-1.5', { prompt: 'abcd', n: 1, size: 'auto', quality: 'auto' })).toBe(
      '0.199685', // (1 × 5 + 6240 × 32) / 1e6: high, 1024x1536
    );
    expect(estimate('azure/openai/gpt-image-1', { prompt: 'abcd', n: 1, size: '1536x1024' })).toBe('0.248325'); // high: 6208
  });

  it("counts an edit's input images at the catalogue's input_image_tokens each", () => {
    // 3 images × 4160 tokens at $10/1M on top of the medium 1024x1024 output
    expect(
      estimate('azure/openai/gpt-image-1', {
        prompt: 'x'.repeat(40),
        n: 1,
        size: '1024x1024',
        quality: 'medium',
        inputImages: 3,
      }),
    ).toBe('0.16709'); // (10 × 5 + 12480 × 10 + 1056 × 40) / 1e6
  });

  it("prices a tiered model's output by the tier asked for, and by its 1K default otherwise", () => {
    const gemini = 'vertex/google/gemini-3-pro-image';
    expect(estimate(gemini, { prompt: 'abcd', n: 1, size: 'auto' })).toBe('0.134402'); // (1 × 2 + 1120 × 120) / 1e6
    expect(estimate(gemini, { prompt: 'abcd', n: 1, size: 'auto', imageSize: '4K' })).toBe('0.240002'); // 2000 tokens
  });

  it('counts the prompt and the input images once per upstream call when n is split into calls', () => {
    // candidates_per_call 1: n = 3 is three calls, each sending the prompt (1 token) and both images (560 each)
    expect(estimate('vertex/google/gemini-3-pro-image', { prompt: 'abcd', n: 3, size: 'auto', inputImages: 2 })).toBe(
      '0.409926', // (3 × 2 + 3 × 2 × 560 × 2 + 3 × 1120 × 120) / 1e6
    );
  });

  it("estimates a custom size at the table's dearest rate per pixel, so a large image is never under-reserved", () => {
    // high 1024x1024 = 7034 tokens is the dearest per pixel; 2048x2048 has four times its pixels
    expect(estimate('azure/openai/gpt-image-2', { prompt: 'abcd', n: 1, size: '2048x2048', quality: 'high' })).toBe(
      '0.844085',
    ); // (1 × 5 + 28136 × 30) / 1e6
  });

  it('is zero for the free local model', () => {
    expect(estimate('local/easel/sketch', { prompt: 'anything', n: 10, size: '1024x1024' })).toBe('0');
  });
});
