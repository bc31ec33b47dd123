import { Injectable } from '@nestjs/common';
import { assertMayUseModel } from '../auth/model-access.js';
import type { RequestContext } from '../common/http/request-context.js';
import type { ServerSentEvent } from '../common/http/sse.js';
import { stringifyJson } from '../common/json/raw-json.js';
import type {
  GeneratedImages,
  ImageGenerationRequest,
  ImagePayload,
  ImageProvider,
} from '../providers/image-provider.interface.js';
import { ProviderRegistry, type RegisteredModel } from '../providers/provider-registry.service.js';
import { UpstreamExecutor } from '../providers/upstream-executor.js';
import { ImageStore } from '../storage/image.store.js';
import { type MeteredRequest, RequestMeter } from '../usage/request-meter.js';
import type { UsageMeasure } from '../usage/usage-measure.js';
import type { CreateImageDto } from './dto/create-image.dto.js';
import type { ImageDataDto, ImagesResponseDto, ImagesUsageDto } from './dto/images.response.js';
import { ImageRequestValidator } from './image-request.validator.js';

interface PreparedImages {
  model: RegisteredModel<ImageProvider>;
  metered: MeteredRequest;
}

@Injectable()
export class ImagesService {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly validator: ImageRequestValidator,
    private readonly store: ImageStore,
    private readonly meter: RequestMeter,
    private readonly upstream: UpstreamExecutor,
  ) {}

  /** Generates, charges the usage to `context` (which the usage record and cost header read), answers. */
  async generate(dto: CreateImageDto, context: RequestContext): Promise<ImagesResponseDto> {
    const { model, metered } = await this.prepare(dto, context);
    const request = toDomainRequest(dto);
    const result = await this.upstream.run(model, context, (route) =>
      model.provider.generateImages(route.target, request, context.signal),
    );
    charge(metered, result, context);
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

  /**
   * `stream: true`: OpenAI's `image_generation.partial_image` events, then one
   * `image_generation.completed` per image carrying the request's usage. Refusable input is
   * checked before the first event, so such errors are ordinary JSON responses.
   */
  async *generateStream(dto: CreateImageDto, context: RequestContext): AsyncGenerator<ServerSentEvent> {
    const { metered } = await this.prepare(dto, context);
    // `prepare`'s validation has refused `stream` for a model that cannot stream.
    const model = this.registry.imageStreamModel(dto.model);
    const created = Math.floor(Date.now() / 1000);
    const completed: ImagePayload[] = [];
    const request = toDomainRequest(dto);
    const partialImages = dto.partial_images ?? 0;
    const events = this.upstream.stream(model, context, (route) =>
      model.provider.generateImagesStream(route.target, request, partialImages, context.signal),
    );
    for await (const event of events) {
      if (event.type === 'partial') {
        yield imageEvent('image_generation.partial_image', {
          b64_json: event.image.base64(),
          created_at: created,
          partial_image_index: event.partialIndex,
          ...settingsOf(dto),
        });
      } else if (event.type === 'completed') {
        completed.push(event.image);
      } else {
        charge(metered, event, context);
        const settings = {
          background: event.background,
          output_format: event.outputFormat,
          quality: event.quality,
          size: event.size,
        };
        for (const image of completed) {
          yield imageEvent('image_generation.completed', {
            b64_json: image.base64(),
            created_at: created,
            ...settings,
            usage: toOpenAiUsage(event.usage),
          });
        }
      }
    }
  }

  /** Everything that can refuse the request, before any upstream work: model, access, input, route, budget. */
  private async prepare(dto: CreateImageDto, context: RequestContext): Promise<PreparedImages> {
    Object.assign(context.usage, {
      model: dto.model,
      prompt: dto.prompt,
      user: dto.user,
      size: dto.size,
      quality: dto.quality,
    });
    const model = this.registry.imageModel(dto.model);
    assertMayUseModel(context.principal, dto.model);
    this.validator.validate(dto, dto.model, model.definition.capabilities);
    this.registry.assertAvailable(model);
    this.meter.recordProvider(context, model);
    const metered = await this.meter.reserve(context.principal, context, model, {
      prompt: dto.prompt,
      n: dto.n ?? 1,
      size: dto.size ?? 'auto',
      quality: dto.quality,
    });
    return { model, metered };
  }

  private present(result: GeneratedImages, format: 'url' | 'b64_json'): Promise<ImageDataDto[]> {
    if (format === 'b64_json') return Promise.resolve(result.images.map((image) => ({ b64_json: image.base64() })));
    return Promise.all(
      result.images.map(async (image) => ({ url: await this.store.save(image.bytes(), result.outputFormat) })),
    );
  }
}

/** Charges the upstream's usage, and records the size and quality it actually made. */
function charge(
  metered: MeteredRequest,
  result: Pick<GeneratedImages, 'size' | 'quality' | 'usage'>,
  context: RequestContext,
): void {
  metered.charge(result.usage);
  Object.assign(context.usage, { size: result.size, quality: result.quality });
}

/** An event whose upstream base64 goes out as the bytes it came in. */
function imageEvent(type: string, body: object): ServerSentEvent {
  return { event: type, data: stringifyJson({ type, ...body }) };
}

/** Partial frames report what was asked; the completed event reports what the upstream made. */
function settingsOf(dto: CreateImageDto) {
  return {
    background: dto.background ?? 'auto',
    output_format: dto.output_format ?? 'png',
    quality: dto.quality ?? 'auto',
    size: dto.size ?? 'auto',
  };
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
