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
    request: { prompt: string; n: number; size: string; quality?: string; inputImages?: number },
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

  it('is zero for the free local model', () => {
    expect(estimate('local/easel/sketch', { prompt: 'anything', n: 10, size: '1024x1024' })).toBe('0');
  });
});
