import { Injectable } from '@nestjs/common';
import { assertMayUseModel } from '../auth/model-access.js';
import { InvalidRequestError } from '../common/errors/gateway.error.js';
import type { RequestContext } from '../common/http/request-context.js';
import type { ServerSentEvent } from '../common/http/sse.js';
import { stringifyJson } from '../common/json/raw-json.js';
import { AppConfig } from '../config/app.config.js';
import type {
  GeneratedImages,
  ImageEditRequest,
  ImageGenerationRequest,
  ImagePayload,
  ImageStreamEvent,
} from '../providers/image-provider.interface.js';
import { ModelLifecycleGate } from '../providers/model-lifecycle.gate.js';
import { ProviderRegistry, type RegisteredModel } from '../providers/provider-registry.service.js';
import { UpstreamExecutor } from '../providers/upstream-executor.js';
import { RemoteImageFetcher } from '../remote-images/remote-image.fetcher.js';
import { ImageStore } from '../storage/image.store.js';
import { type MeteredRequest, RequestMeter } from '../usage/request-meter.js';
import { ThumbnailRecorder } from '../usage/thumbnails/thumbnail.recorder.js';
import { payloadSources } from '../usage/thumbnails/thumbnail.source.js';
import type { UsageMeasure } from '../usage/usage-measure.js';
import type { CreateImageDto } from './dto/create-image.dto.js';
import type { ImageDataDto, ImagesResponseDto, ImagesUsageDto } from './dto/images.response.js';
import type { ImageEditBody, SentImage } from './edits/image-edit.body.js';
import { ImageRequestValidator, type ReceivedImage } from './image-request.validator.js';

/** The event names of a streamed generation and of a streamed edit (OpenAI's). */
const EVENTS = {
  generation: { partial: 'image_generation.partial_image', completed: 'image_generation.completed' },
  edit: { partial: 'image_edit.partial_image', completed: 'image_edit.completed' },
} as const;
type EventNames = (typeof EVENTS)[keyof typeof EVENTS];

/**
 * `POST /v1/images/generations` and `POST /v1/images/edits`: one path for both, from validation
 * to the answer; an edit differs in its model lookup, its input images and its event names.
 */
@Injectable()
export class ImagesService {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly validator: ImageRequestValidator,
    private readonly store: ImageStore,
    private readonly meter: RequestMeter,
    private readonly upstream: UpstreamExecutor,
    private readonly remoteImages: RemoteImageFetcher,
    private readonly config: AppConfig,
    private readonly lifecycle: ModelLifecycleGate,
    private readonly thumbnails: ThumbnailRecorder,
  ) {}

  /** Generates, charges the usage to `context` (which the usage record and cost header read), answers. */
  async generate(dto: CreateImageDto, context: RequestContext): Promise<ImagesResponseDto> {
    const { model, metered } = await this.prepareGeneration(dto, context);
    const request = toDomainRequest(dto);
    const result = await this.upstream
      .run(model, context, (route) => model.provider.generateImages(route.target, request, context.signal))
      .catch((error: unknown) => metered.fail(error));
    return this.answer(dto, model, result, metered, context);
  }

  /**
   * `stream: true`: OpenAI's `image_generation.partial_image` events, then one
   * `image_generation.completed` per image carrying the request's usage. Refusable input is
   * checked before the first event, so such errors are ordinary JSON responses.
   */
  async *generateStream(dto: CreateImageDto, context: RequestContext): AsyncGenerator<ServerSentEvent> {
    const { model: served, metered } = await this.prepareGeneration(dto, context);
    // Validation has refused `stream` for a model that cannot stream.
    const model = this.registry.imageStreamModel(served.definition.id);
    const request = toDomainRequest(dto);
    const events = this.upstream.stream(model, context, (route) =>
      model.provider.generateImagesStream(route.target, request, dto.partial_images ?? 0, context.signal),
    );
    yield* this.streamEvents(dto, events, metered, context, EVENTS.generation);
  }

  /** An edit: as `generate`, with the input images judged by the model and sent along. */
  async edit(body: ImageEditBody, context: RequestContext): Promise<ImagesResponseDto> {
    const { model, request, metered } = await this.prepareEdit(body, context);
    const result = await this.upstream
      .run(model, context, (route) => model.provider.editImages(route.target, request, context.signal))
      .catch((error: unknown) => metered.fail(error));
    return this.answer(body.fields, model, result, metered, context);
  }

  /** A streamed edit: `image_edit.partial_image` and `image_edit.completed` events. */
  async *editStream(body: ImageEditBody, context: RequestContext): AsyncGenerator<ServerSentEvent> {
    const { fields } = body;
    const { model: served, request, metered } = await this.prepareEdit(body, context);
    const model = this.registry.editStreamModel(served.definition.id);
    const events = this.upstream.stream(model, context, (route) =>
      model.provider.editImagesStream(route.target, request, fields.partial_images ?? 0, context.signal),
    );
    yield* this.streamEvents(fields, events, metered, context, EVENTS.edit);
  }

  /** Everything that can refuse a generation, before any upstream work: model, access, input, route, budget. */
  private async prepareGeneration(dto: CreateImageDto, context: RequestContext) {
    noteRequest(dto, context);
    const requested = this.registry.imageModel(dto.model);
    assertMayUseModel(context.principal, dto.model);
    const model = this.lifecycle.serve(requested, context, (id) => this.registry.imageModel(id));
    this.validator.validate(dto, model.definition.id, model.definition.capabilities);
    return { model, metered: await this.admit(dto, context, model, 0) };
  }

  /**
   * As `prepareGeneration` for an edit: the fields, then the images (fetched first when sent by
   * URL), judged by the model; the usage learns how many images and bytes came in.
   */
  private async prepareEdit(body: ImageEditBody, context: RequestContext) {
    const { fields } = body;
    noteRequest(fields, context);
    const requested = this.registry.editModel(fields.model);
    assertMayUseModel(context.principal, fields.model);
    const model = this.lifecycle.serve(requested, context, (id) => this.registry.editModel(id));
    const { id: modelId, capabilities } = model.definition;
    this.validator.validateEditFields(fields, body, modelId, capabilities);
    // Before any image is fetched from a URL.
    this.registry.assertAvailable(model);
    const [images, mask] = await this.receive(body, context.signal);
    context.usage.inputImages = images.length + (mask ? 1 : 0);
    context.usage.inputImageBytes = [...images, ...(mask ? [mask] : [])].reduce((sum, i) => sum + i.bytes.length, 0);
    const edit = this.validator.validateEditImages(images, mask, modelId, capabilities, this.config.uploads);
    return {
      model,
      request: { ...toDomainRequest(fields), ...edit, inputFidelity: fields.input_fidelity } as ImageEditRequest,
      metered: await this.admit(fields, context, model, edit.images.length),
    };
  }

  /**
   * The bytes of each image and of the mask: as sent, or fetched from their URLs
   * (REMOTE_IMAGE_URLS), each within UPLOAD_MAX_FILE_BYTES.
   */
  private async receive(
    body: ImageEditBody,
    signal: AbortSignal,
  ): Promise<[images: ReceivedImage[], mask: ReceivedImage | undefined]> {
    const sent = body.mask ? [...body.images, body.mask] : body.images;
    const remote = sent.filter((image): image is Extract<SentImage, { url: string }> => 'url' in image);
    if (remote.length > 0 && !this.remoteImages.enabled) {
      throw new InvalidRequestError(
        'Remote image URLs are not enabled on this server (its operator can enable them with REMOTE_IMAGE_URLS=true); send the image as a data URL (data:image/png;base64,…).',
        `${remote[0]!.param}.image_url`,
      );
    }
    const fetched = (await this.remoteImages.fetchAll(remote, this.config.uploads.maxFileBytes, signal)).values();
    const received = sent.map((image) =>
      'url' in image ? { param: image.param, bytes: fetched.next().value!.bytes } : image,
    );
    return body.mask ? [received.slice(0, -1), received.at(-1)] : [received, undefined];
  }

  /**
   * The last checks before the upstream: the model has a route, the answers in flight take this
   * one's bytes, and the budget takes the estimate.
   */
  private admit(
    dto: CreateImageDto,
    context: RequestContext,
    model: RegisteredModel,
    inputImages: number,
  ): Promise<MeteredRequest> {
    this.registry.assertAvailable(model);
    this.meter.recordProvider(context, model);
    return this.meter.reserve(context.principal, context, model, {
      prompt: dto.prompt,
      n: dto.n ?? 1,
      size: dto.size ?? 'auto',
      quality: dto.quality,
      imageSize: dto.image_size,
      inputImages,
      outputFormat: dto.output_format ?? 'png',
      partialImages: dto.stream ? (dto.partial_images ?? 0) : 0,
    });
  }

  private async answer(
    dto: CreateImageDto,
    model: RegisteredModel,
    result: GeneratedImages,
    metered: MeteredRequest,
    context: RequestContext,
  ): Promise<ImagesResponseDto> {
    charge(metered, result, context);
    const created = Math.floor(Date.now() / 1000);
    const format = dto.response_format ?? 'url';
    const data = await this.present(result, format);
    // The console's previews (CONSOLE_THUMBNAILS).
    this.thumbnails.capture(context, payloadSources(result.images));
    return {
      created,
      model: model.definition.id,
      data,
      background: result.background,
      output_format: result.outputFormat,
      quality: result.quality,
      size: result.size,
      usage: toOpenAiUsage(result.usage),
    };
  }

  /** The upstream's stream as OpenAI's events: partial frames as they come, each image once the usage is known. */
  private async *streamEvents(
    dto: CreateImageDto,
    events: AsyncIterable<ImageStreamEvent>,
    metered: MeteredRequest,
    context: RequestContext,
    names: EventNames,
  ): AsyncGenerator<ServerSentEvent> {
    const created = Math.floor(Date.now() / 1000);
    const completed: ImagePayload[] = [];
    for await (const event of events) {
      if (event.type === 'partial') {
        yield imageEvent(names.partial, {
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
          yield imageEvent(names.completed, {
            b64_json: image.base64(),
            created_at: created,
            ...settings,
            usage: toOpenAiUsage(event.usage),
          });
        }
      }
    }
    // The stream ended well: the console's previews (CONSOLE_THUMBNAILS) of the completed images.
    this.thumbnails.capture(context, payloadSources(completed));
  }

  private present(result: GeneratedImages, format: 'url' | 'b64_json'): Promise<ImageDataDto[]> {
    if (format === 'b64_json') return Promise.resolve(result.images.map((image) => ({ b64_json: image.base64() })));
    return Promise.all(
      result.images.map(async (image) => ({ url: await this.store.save(image, result.outputFormat) })),
    );
  }
}

/** What the usage record says of the request as asked, before anything can refuse it. */
function noteRequest(dto: CreateImageDto, context: RequestContext): void {
  Object.assign(context.usage, {
    model: dto.model,
    prompt: dto.prompt,
    user: dto.user,
    size: dto.size,
    quality: dto.quality,
  });
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
    imageSize: dto.image_size,
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
