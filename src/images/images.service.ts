import { Injectable } from '@nestjs/common';
import { assertMayUseModel } from '../auth/model-access.js';
import type { Principal } from '../auth/principal.js';
import type { RequestContext } from '../common/http/request-context.js';
import type { GeneratedImages, ImageGenerationRequest } from '../providers/provider.interface.js';
import { ProviderRegistry } from '../providers/provider-registry.service.js';
import { ImageStore } from '../storage/image.store.js';
import { PriceBook } from '../usage/pricing/price-book.service.js';
import { PricingService } from '../usage/pricing/pricing.service.js';
import type { UsageMeasure } from '../usage/usage-measure.js';
import type { CreateImageDto } from './dto/create-image.dto.js';
import type { ImageDataDto, ImagesResponseDto, ImagesUsageDto } from './dto/images.response.js';
import { ImageRequestValidator } from './image-request.validator.js';

@Injectable()
export class ImagesService {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly validator: ImageRequestValidator,
    private readonly store: ImageStore,
    private readonly pricing: PricingService,
    private readonly prices: PriceBook,
  ) {}

  /** Generates, charges the usage to `context` (which the usage record and cost header read), answers. */
  async generate(dto: CreateImageDto, principal: Principal, context: RequestContext): Promise<ImagesResponseDto> {
    const usage = context.usage;
    Object.assign(usage, { model: dto.model, prompt: dto.prompt, user: dto.user, size: dto.size, quality: dto.quality });
    const model = this.registry.imageModel(dto.model);
    assertMayUseModel(principal, dto.model);
    this.validator.validate(dto, dto.model, model.definition.capabilities);
    const route = this.registry.pickRoute(model);
    Object.assign(usage, { provider: model.definition.provider, route: route.name });
    const started = performance.now();
    const result = await model.provider.generateImages(route.target, toDomainRequest(dto), context.signal);
    const price = this.prices.priceOf(dto.model);
    Object.assign(usage, {
      upstreamLatencyMs: Math.round(performance.now() - started),
      size: result.size,
      quality: result.quality,
      measure: result.usage,
      cost: this.pricing.cost(result.usage, price.prices),
      priceVersion: price.version,
    });
    return {
      created: Math.floor(Date.now() / 1000),
      data: await this.present(result, dto.response_format ?? 'url'),
      background: result.background,
      output_format: result.outputFormat,
      quality: result.quality,
      size: result.size,
      usage: toOpenAiUsage(result.usage),
    };
  }

  private present(result: GeneratedImages, format: 'url' | 'b64_json'): Promise<ImageDataDto[]> {
    if (format === 'b64_json') return Promise.resolve(result.images.map((image) => ({ b64_json: image.base64() })));
    return Promise.all(result.images.map(async (image) => ({ url: await this.store.save(image.bytes(), result.outputFormat) })));
  }
}

function toDomainRequest(dto: CreateImageDto): ImageGenerationRequest {
  return {
    prompt: dto.prompt,
    n: dto.n ?? 1,
    size: dto.size ?? 'auto',
    quality: dto.quality,
    background: dto.background,
    outputFormat: dto.output_format ?? 'png',
    outputCompression: dto.output_compression,
    moderation: dto.moderation,
    user: dto.user,
  };
}

export function toOpenAiUsage(usage: UsageMeasure): ImagesUsageDto {
  const input = usage.inputTextTokens + usage.inputImageTokens;
  const output = usage.outputTextTokens + usage.outputImageTokens;
  return {
    input_tokens: input,
    input_tokens_details: { text_tokens: usage.inputTextTokens, image_tokens: usage.inputImageTokens },
    output_tokens: output,
    output_tokens_details: { text_tokens: usage.outputTextTokens, image_tokens: usage.outputImageTokens },
    total_tokens: input + output,
  };
}
