import type { GatewayError } from '../../common/errors/gateway.error.js';
import { isJsonText, parseJsonKeepingRaw } from '../../common/json/raw-json.js';
import type { ModelDefinition, ProviderKind, RouteDefinition } from '../../config/models.catalogue.js';
import {
  type GeneratedImages,
  type ImageEditRequest,
  type ImageEditStreamProvider,
  type ImageGenerationRequest,
  ImagePayload,
  type ImageStreamEvent,
  type ImageStreamProvider,
} from '../image-provider.interface.js';
import type { MultipartBody } from '../multipart-body.js';
import type { ResolvedTarget } from '../provider.interface.js';
import { mapUpstreamError } from '../upstream-error.mapper.js';
import { type UpstreamHttp, UpstreamHttpError, UpstreamTransportError } from '../upstream-http.js';
import { fromImagesResponse, producedSettings, toEditForm, toImagesBody, toUsage } from './openai-images.mapper.js';
import type { OpenAiImagesBody, OpenAiImagesResponse, OpenAiImageStreamEvent } from './openai-images.types.js';

/** Where and how one route reaches an OpenAI-style images API: resolved once at boot by its adapter. */
export interface OpenAiImagesTarget {
  generationsUrl: string;
  editsUrl: string;
  /** The credentials, as the upstream wants them (`api-key`, `authorization: Bearer …`). */
  headers: Record<string, string>;
  /** Sent as `model` (a JSON field, a form field); unset where the URL names the model (an Azure deployment). */
  model?: string;
}

/** The `data` of the event that ends a stream. */
const DONE = Buffer.from('[DONE]');

/**
 * OpenAI's images protocol over `UpstreamHttp`, the base of the adapters whose upstreams speak it:
 * JSON generations, multipart edits, and both streamed as `*.partial_image` / `*.completed` events.
 * A subclass resolves the target (`resolveRoute`) and names its upstream in errors
 * (`upstreamName`), overriding `toGatewayError` where its upstream fails in ways of its own;
 * everything else about the protocol lives here once.
 */
export abstract class OpenAiImagesAdapter
  implements ImageStreamProvider<OpenAiImagesTarget>, ImageEditStreamProvider<OpenAiImagesTarget>
{
  abstract readonly kind: ProviderKind;
  /** The upstream as a client reads it in an error ("OpenAI failed with HTTP 500."). */
  protected abstract readonly upstreamName: string;

  constructor(private readonly http: UpstreamHttp) {}

  abstract resolveRoute(model: ModelDefinition, route: RouteDefinition): ResolvedTarget<OpenAiImagesTarget>;

  generateImages(
    target: OpenAiImagesTarget,
    request: ImageGenerationRequest,
    signal: AbortSignal,
  ): Promise<GeneratedImages> {
    return this.post(target, target.generationsUrl, toImagesBody(request, target.model), request, signal);
  }

  generateImagesStream(
    target: OpenAiImagesTarget,
    request: ImageGenerationRequest,
    partialImages: number,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent> {
    const body = { ...toImagesBody(request, target.model), stream: true, partial_images: partialImages };
    return this.stream(target, target.generationsUrl, body, request, signal);
  }

  editImages(target: OpenAiImagesTarget, request: ImageEditRequest, signal: AbortSignal): Promise<GeneratedImages> {
    return this.post(target, target.editsUrl, toEditForm(request, target.model), request, signal);
  }

  /** Edits stream `image_edit.partial_image` / `image_edit.completed` events, shaped as a generation's. */
  editImagesStream(
    target: OpenAiImagesTarget,
    request: ImageEditRequest,
    partialImages: number,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent> {
    const form = toEditForm(request, target.model, [
      { name: 'stream', value: 'true' },
      { name: 'partial_images', value: String(partialImages) },
    ]);
    return this.stream(target, target.editsUrl, form, request, signal);
  }

  /** How the upstream's failures reach the client: `mapUpstreamError`'s mapping, unless overridden. */
  protected toGatewayError(error: unknown): GatewayError {
    return mapUpstreamError(error, this.upstreamName);
  }

  private async post(
    target: OpenAiImagesTarget,
    url: string,
    body: OpenAiImagesBody | MultipartBody,
    request: ImageGenerationRequest,
    signal: AbortSignal,
  ): Promise<GeneratedImages> {
    try {
      const { body: response } = await this.http.postJson<OpenAiImagesResponse>({
        url,
        headers: target.headers,
        body,
        signal,
        rawStrings: ['b64_json'],
      });
      return fromImagesResponse(response, request);
    } catch (error) {
      throw this.toGatewayError(error);
    }
  }

  /**
   * Partial frames as they come, each completed image, then the summary from the last
   * `*.completed` event (which carries the usage of the whole request).
   */
  private async *stream(
    target: OpenAiImagesTarget,
    url: string,
    body: OpenAiImagesBody | MultipartBody,
    request: ImageGenerationRequest,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent> {
    let completed = 0;
    let last: OpenAiImageStreamEvent | undefined;
    try {
      const events = await this.http.postEventStream({ url, headers: target.headers, body, signal });
      for await (const { bytes } of events) {
        if (bytes.equals(DONE)) break;
        // The image data stays the bytes of the event (see `postJson`'s `rawStrings`).
        const event = parseJsonKeepingRaw(bytes, ['b64_json'], { strict: true }) as OpenAiImageStreamEvent;
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
      if (!last) throw new UpstreamTransportError('malformed', 'the stream ended without a completed image');
    } catch (error) {
      throw this.toGatewayError(
        error instanceof SyntaxError
          ? new UpstreamTransportError('malformed', 'a streamed event is not JSON', { cause: error })
          : error,
      );
    }
    yield { type: 'done', ...producedSettings(last, request), usage: toUsage(last.usage, completed) };
  }
}
