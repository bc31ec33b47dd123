import { Injectable } from '@nestjs/common';
import { isJsonText, parseJsonKeepingRaw } from '../../common/json/raw-json.js';
import { AppConfig } from '../../config/app.config.js';
import type { ModelDefinition, RouteDefinition } from '../../config/models.catalogue.js';
import type { UsageMeasure } from '../../usage/usage-measure.js';
import {
  type GeneratedImages,
  type ImageFormat,
  type ImageGenerationRequest,
  ImagePayload,
  type ImageStreamEvent,
  type ImageStreamProvider,
} from '../image-provider.interface.js';
import type { ResolvedTarget } from '../provider.interface.js';
import { mapUpstreamError } from '../upstream-error.mapper.js';
import { UpstreamHttp, UpstreamHttpError, UpstreamTransportError } from '../upstream-http.js';
import type { AzureImageGenerationBody, AzureImagesResponse, AzureImageStreamEvent } from './azure-openai.types.js';

export interface AzureOpenAiTarget {
  url: string;
  apiKey: string;
}

const FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'webp'];
/** The `data` of the event that ends a stream. */
const DONE = Buffer.from('[DONE]');

/**
 * Azure OpenAI GPT image models: `POST {endpoint}/openai/deployments/{deployment}/images/generations
 * ?api-version={v}` with the `api-key` header. Azure returns base64 only and rejects
 * `response_format` for these models, so it is never sent; the base64 is passed on untouched.
 */
@Injectable()
export class AzureOpenAiAdapter implements ImageStreamProvider<AzureOpenAiTarget> {
  readonly kind = 'azure-openai' as const;

  constructor(
    private readonly config: AppConfig,
    private readonly http: UpstreamHttp,
  ) {}

  resolveRoute(model: ModelDefinition, route: RouteDefinition): ResolvedTarget<AzureOpenAiTarget> {
    const endpointVariable = route.endpoint_env ?? 'AZURE_OPENAI_ENDPOINT';
    const keyVariable = route.api_key_env ?? 'AZURE_OPENAI_API_KEY';
    const endpoint = this.config.variable(endpointVariable)?.replace(/\/+$/, '');
    const apiKey = this.config.variable(keyVariable);
    const missing = [endpoint ? undefined : endpointVariable, apiKey ? undefined : keyVariable].filter(
      (name): name is string => name !== undefined,
    );
    if (!endpoint || !apiKey) return { missing };
    if (!/^https?:\/\//.test(endpoint) || !URL.canParse(endpoint)) {
      throw new Error(`${endpointVariable} must be an http(s) URL (model ${model.id}, route ${route.name})`);
    }
    const deployment = encodeURIComponent(route.deployment ?? model.id.split('/').at(-1)!);
    const apiVersion = encodeURIComponent(route.api_version ?? this.config.azure.apiVersion);
    return {
      target: {
        url: `${endpoint}/openai/deployments/${deployment}/images/generations?api-version=${apiVersion}`,
        apiKey,
      },
      missing: [],
    };
  }

  async generateImages(
    target: AzureOpenAiTarget,
    request: ImageGenerationRequest,
    signal: AbortSignal,
  ): Promise<GeneratedImages> {
    let body: AzureImagesResponse;
    try {
      ({ body } = await this.http.postJson<AzureImagesResponse>({
        url: target.url,
        headers: { 'api-key': target.apiKey },
        body: toAzureBody(request),
        signal,
        rawStrings: ['b64_json'],
      }));
    } catch (error) {
      throw mapUpstreamError(error, 'Azure OpenAI');
    }
    return fromAzureResponse(body, request);
  }

  /** Azure streams OpenAI's own `image_generation.partial_image` / `.completed` events. */
  async *generateImagesStream(
    target: AzureOpenAiTarget,
    request: ImageGenerationRequest,
    partialImages: number,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent> {
    let completed = 0;
    let last: AzureImageStreamEvent | undefined;
    try {
      const events = await this.http.postEventStream({
        url: target.url,
        headers: { 'api-key': target.apiKey },
        body: { ...toAzureBody(request), stream: true, partial_images: partialImages },
        signal,
      });
      for await (const { bytes } of events) {
        if (bytes.equals(DONE)) break;
        // The image data stays the bytes of the event (see `postJson`'s `rawStrings`).
        const event = parseJsonKeepingRaw(bytes, ['b64_json'], { strict: true }) as AzureImageStreamEvent;
        if (event.error) throw new UpstreamHttpError(400, event, {});
        if (!isJsonText(event.b64_json)) continue;
        if (event.type === 'image_generation.partial_image') {
          yield {
            type: 'partial',
            imageIndex: completed,
            partialIndex: event.partial_image_index ?? 0,
            image: ImagePayload.fromBase64(event.b64_json),
          };
        } else if (event.type === 'image_generation.completed') {
          yield { type: 'completed', imageIndex: completed++, image: ImagePayload.fromBase64(event.b64_json) };
          last = event;
        }
      }
    } catch (error) {
      throw mapUpstreamError(
        error instanceof SyntaxError
          ? new UpstreamTransportError('malformed', 'a streamed event is not JSON', { cause: error })
          : error,
        'Azure OpenAI',
      );
    }
    if (!last)
      throw mapUpstreamError(
        new UpstreamTransportError('malformed', 'the stream ended without a completed image'),
        'Azure OpenAI',
      );
    yield {
      type: 'done',
      size: last.size ?? request.size,
      quality: last.quality ?? request.quality ?? 'auto',
      background: last.background ?? request.background ?? 'auto',
      outputFormat: FORMATS.find((format) => format === last!.output_format) ?? request.outputFormat,
      usage: toUsage(last.usage, completed),
    };
  }
}

export function toAzureBody(request: ImageGenerationRequest): AzureImageGenerationBody {
  const body: AzureImageGenerationBody = { prompt: request.prompt, n: request.n };
  if (request.size !== 'auto') body.size = request.size;
  if (request.quality) body.quality = request.quality;
  if (request.background) body.background = request.background;
  body.output_format = request.outputFormat;
  if (request.outputCompression !== undefined) body.output_compression = request.outputCompression;
  if (request.moderation) body.moderation = request.moderation;
  if (request.user) body.user = request.user;
  return body;
}

export function fromAzureResponse(body: AzureImagesResponse, request: ImageGenerationRequest): GeneratedImages {
  const data = Array.isArray(body.data) ? body.data : [];
  if (data.length === 0 || data.some((item) => !isJsonText(item.b64_json) || item.b64_json.length === 0)) {
    throw mapUpstreamError(
      new UpstreamTransportError('malformed', 'the response has no base64 image data'),
      'Azure OpenAI',
    );
  }
  const format = FORMATS.find((candidate) => candidate === body.output_format) ?? request.outputFormat;
  return {
    images: data.map((item) => ImagePayload.fromBase64(item.b64_json!)),
    size: body.size ?? request.size,
    quality: body.quality ?? request.quality ?? 'auto',
    background: body.background ?? request.background ?? 'auto',
    outputFormat: format,
    usage: toUsage(body.usage, data.length),
  };
}

function toUsage(usage: AzureImagesResponse['usage'], images: number): UsageMeasure {
  const count = (value: unknown) =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
  const input = count(usage?.input_tokens);
  const inputImage = count(usage?.input_tokens_details?.image_tokens);
  const inputText =
    usage?.input_tokens_details?.text_tokens !== undefined
      ? count(usage.input_tokens_details.text_tokens)
      : Math.max(0, input - inputImage);
  const output = count(usage?.output_tokens);
  const outputText = count(usage?.output_tokens_details?.text_tokens);
  return {
    inputTextTokens: inputText,
    inputImageTokens: inputImage,
    cachedInputTokens: count(usage?.input_tokens_details?.cached_tokens),
    outputTextTokens: outputText,
    outputImageTokens:
      usage?.output_tokens_details?.image_tokens !== undefined
        ? count(usage.output_tokens_details.image_tokens)
        : Math.max(0, output - outputText),
    images,
  };
}
