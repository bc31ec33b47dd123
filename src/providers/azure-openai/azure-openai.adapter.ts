import { Injectable } from '@nestjs/common';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { isJsonText, parseJsonKeepingRaw } from '../../common/json/raw-json.js';
import { AppConfig } from '../../config/app.config.js';
import type { ModelDefinition, RouteDefinition } from '../../config/models.catalogue.js';
import type { UsageMeasure } from '../../usage/usage-measure.js';
import {
  type GeneratedImages,
  type ImageEditRequest,
  type ImageEditStreamProvider,
  type ImageFormat,
  type ImageGenerationRequest,
  ImagePayload,
  type ImageStreamEvent,
  type ImageStreamProvider,
} from '../image-provider.interface.js';
import { MultipartBody, type MultipartField, type MultipartFile } from '../multipart-body.js';
import type { ResolvedTarget } from '../provider.interface.js';
import { mapUpstreamError } from '../upstream-error.mapper.js';
import { UpstreamHttp, UpstreamHttpError, UpstreamTransportError } from '../upstream-http.js';
import type { AzureImageGenerationBody, AzureImagesResponse, AzureImageStreamEvent } from './azure-openai.types.js';

export interface AzureOpenAiTarget {
  generationsUrl: string;
  editsUrl: string;
  apiKey: string;
}

const FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'webp'];
/** The `data` of the event that ends a stream. */
const DONE = Buffer.from('[DONE]');

/**
 * Azure OpenAI GPT image models: `POST {endpoint}/openai/deployments/{deployment}/images/generations
 * ?api-version={v}` (JSON) and `…/images/edits?api-version={v}` (multipart, with the field names
 * Azure documents), with the `api-key` header. Azure returns base64 only and rejects
 * `response_format` for these models, so it is never sent; the base64 is passed on untouched.
 */
@Injectable()
export class AzureOpenAiAdapter
  implements ImageStreamProvider<AzureOpenAiTarget>, ImageEditStreamProvider<AzureOpenAiTarget>
{
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
    const images = `${endpoint}/openai/deployments/${deployment}/images`;
    return {
      target: {
        generationsUrl: `${images}/generations?api-version=${apiVersion}`,
        editsUrl: `${images}/edits?api-version=${apiVersion}`,
        apiKey,
      },
      missing: [],
    };
  }

  generateImages(
    target: AzureOpenAiTarget,
    request: ImageGenerationRequest,
    signal: AbortSignal,
  ): Promise<GeneratedImages> {
    return this.images(target, target.generationsUrl, toAzureBody(request), request, signal);
  }

  /** Azure streams OpenAI's own `image_generation.partial_image` / `.completed` events. */
  generateImagesStream(
    target: AzureOpenAiTarget,
    request: ImageGenerationRequest,
    partialImages: number,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent> {
    const body = { ...toAzureBody(request), stream: true, partial_images: partialImages };
    return this.imagesStream(target, target.generationsUrl, body, request, signal);
  }

  editImages(target: AzureOpenAiTarget, request: ImageEditRequest, signal: AbortSignal): Promise<GeneratedImages> {
    return this.images(target, target.editsUrl, toAzureEditForm(request), request, signal);
  }

  /** Edits stream `image_edit.partial_image` / `image_edit.completed` events, shaped as a generation's. */
  editImagesStream(
    target: AzureOpenAiTarget,
    request: ImageEditRequest,
    partialImages: number,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent> {
    const form = toAzureEditForm(request, [
      { name: 'stream', value: 'true' },
      { name: 'partial_images', value: String(partialImages) },
    ]);
    return this.imagesStream(target, target.editsUrl, form, request, signal);
  }

  private async images(
    target: AzureOpenAiTarget,
    url: string,
    body: AzureImageGenerationBody | MultipartBody,
    request: ImageGenerationRequest,
    signal: AbortSignal,
  ): Promise<GeneratedImages> {
    let response: AzureImagesResponse;
    try {
      ({ body: response } = await this.http.postJson<AzureImagesResponse>({
        url,
        headers: { 'api-key': target.apiKey },
        body,
        signal,
        rawStrings: ['b64_json'],
      }));
    } catch (error) {
      throw toGatewayError(error);
    }
    return fromAzureResponse(response, request);
  }

  private async *imagesStream(
    target: AzureOpenAiTarget,
    url: string,
    body: AzureImageGenerationBody | MultipartBody,
    request: ImageGenerationRequest,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent> {
    let completed = 0;
    let last: AzureImageStreamEvent | undefined;
    try {
      const events = await this.http.postEventStream({ url, headers: { 'api-key': target.apiKey }, body, signal });
      for await (const { bytes } of events) {
        if (bytes.equals(DONE)) break;
        // The image data stays the bytes of the event (see `postJson`'s `rawStrings`).
        const event = parseJsonKeepingRaw(bytes, ['b64_json'], { strict: true }) as AzureImageStreamEvent;
        if (event.error) throw new UpstreamHttpError(400, event, {});
        if (!isJsonText(event.b64_json)) continue;
        if (event.type?.endsWith('.partial_image')) {
          yield {
            type: 'partial',
            imageIndex: completed,
            partialIndex: event.partial_image_index ?? 0,
            image: ImagePayload.fromBase64(event.b64_json),
          };
        } else if (event.type?.endsWith('.completed')) {
          yield { type: 'completed', imageIndex: completed++, image: ImagePayload.fromBase64(event.b64_json) };
          last = event;
        }
      }
    } catch (error) {
      throw toGatewayError(
        error instanceof SyntaxError
          ? new UpstreamTransportError('malformed', 'a streamed event is not JSON', { cause: error })
          : error,
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

/**
 * Azure's failures as the client sees them (`mapUpstreamError`), but for one: Azure intermittently
 * refuses a multipart edit with 400 "Unsupported content type: 'multipart/form-data'. This API
 * method only accepts 'application/json'" (openai-python #2749, dify-official-plugins #2881), a
 * fault of its own that another attempt gets past: transient, so it is retried.
 */
function toGatewayError(error: unknown): GatewayError {
  if (
    error instanceof UpstreamHttpError &&
    error.status === 400 &&
    /Unsupported content type: 'multipart\/form-data'/i.test(JSON.stringify(error.body))
  ) {
    return new GatewayError(
      ErrorCode.UpstreamError,
      'Azure OpenAI refused the edit\'s multipart body ("Unsupported content type"), a known intermittent fault of its own.',
      { cause: error, transient: true },
    );
  }
  return mapUpstreamError(error, 'Azure OpenAI');
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

/**
 * An edit as Azure's multipart form: the generation's fields as text, `input_fidelity`, then the
 * images (`image` for one, repeated `image[]` for several, as the OpenAI SDKs send them) and the
 * mask, each with its real content type (Azure refuses `application/octet-stream`).
 */
export function toAzureEditForm(request: ImageEditRequest, extra: MultipartField[] = []): MultipartBody {
  const fields: MultipartField[] = Object.entries(toAzureBody(request)).map(([name, value]) => ({
    name,
    value: String(value),
  }));
  if (request.inputFidelity) fields.push({ name: 'input_fidelity', value: request.inputFidelity });
  const name = request.images.length === 1 ? 'image' : 'image[]';
  const files: MultipartFile[] = request.images.map((image, index) => ({
    name,
    filename: `image-${index}.${image.format}`,
    contentType: image.mimeType,
    bytes: image.bytes,
  }));
  if (request.mask) {
    files.push({ name: 'mask', filename: 'mask.png', contentType: request.mask.mimeType, bytes: request.mask.bytes });
  }
  return new MultipartBody([...fields, ...extra, ...files]);
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
