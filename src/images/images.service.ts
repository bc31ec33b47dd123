import { Injectable } from '@nestjs/common';
import { assertMayUseModel } from '../auth/model-access.js';
import type { Principal } from '../auth/principal.js';
import { formatUsd } from '../common/money/usd.js';
import type { GeneratedImages, ImageGenerationRequest } from '../providers/provider.interface.js';
import { ProviderRegistry } from '../providers/provider-registry.service.js';
import { ImageStore } from '../storage/image.store.js';
import { PricingService } from '../usage/pricing/pricing.service.js';
import type { UsageMeasure } from '../usage/usage-measure.js';
import type { CreateImageDto } from './dto/create-image.dto.js';
import type { ImageDataDto, ImagesResponseDto, ImagesUsageDto } from './dto/images.response.js';
import { ImageRequestValidator } from './image-request.validator.js';

export interface ImageGenerationOutcome {
  response: ImagesResponseDto;
  /** USD, decimal string. */
  costUsd: string;
}

@Injectable()
export class ImagesService {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly validator: ImageRequestValidator,
    private readonly store: ImageStore,
    private readonly pricing: PricingService,
  ) {}

  async generate(dto: CreateImageDto, principal: Principal, signal: AbortSignal): Promise<ImageGenerationOutcome> {
    const model = this.registry.forEndpoint(dto.model, 'images');
    assertMayUseModel(principal, dto.model);
    this.validator.validate(dto, dto.model, model.definition.capabilities);
    const route = this.registry.pickRoute(model);
    const result = await model.provider.generateImages(route.target, toDomainRequest(dto), signal);
    const data = await this.present(result, dto.response_format ?? 'url');
    return {
      response: {
        created: Math.floor(Date.now() / 1000),
        data,
        background: result.background,
        output_format: result.outputFormat,
        quality: result.quality,
        size: result.size,
        usage: toOpenAiUsage(result.usage),
      },
      costUsd: formatUsd(this.pricing.cost(result.usage, model.definition.prices)),
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
