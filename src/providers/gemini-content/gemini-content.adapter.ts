import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { parseJsonKeepingRaw } from '../../common/json/raw-json.js';
import type { ModelDefinition, ProviderKind, RouteDefinition } from '../../config/models.catalogue.js';
import { addUsage, EMPTY_USAGE } from '../../usage/usage-measure.js';
import { closestAspectRatio, geminiImageSize, type GeminiPixelTable, pixelTableOf } from '../aspect-ratios.js';
import type { ChatProvider, ChatRequest, ChatResult, ChatStreamEvent } from '../chat-provider.interface.js';
import {
  type GeneratedImages,
  type ImageEditProvider,
  type ImageEditRequest,
  type ImageGenerationRequest,
  ImagePayload,
  type ImageProvider,
} from '../image-provider.interface.js';
import type { ResolvedTarget } from '../provider.interface.js';
import type { ParsedServerSentEvent } from '../sse-parser.js';
import { mapUpstreamError } from '../upstream-error.mapper.js';
import { type UpstreamHttp, UpstreamTransportError } from '../upstream-http.js';
import { candidateCounts, fanOut } from './fan-out.js';
import {
  candidateOutput,
  finishReasonOf,
  refusalMessage,
  toChatChoices,
  toGeminiImageRequest,
  toGeminiRequest,
  toUsage,
} from './gemini-content.mapper.js';
import type { GeminiPart, GenerateContentRequest, GenerateContentResponse } from './gemini-content.types.js';

/** Gemini answers at most 8 candidates per call (`candidateCount` 1–8), unless the catalogue says fewer. */
const MAX_CANDIDATES = 8;

/** One route of a Gemini model, resolved at boot, whichever upstream serves it. */
export interface GeminiContentTarget {
  /** `…/models/{model}`, to which `:generateContent` or `:streamGenerateContent?alt=sse` is added. */
  modelUrl: string;
  /** Candidates one call may ask for: `n` beyond it is several calls. */
  candidatesPerCall: number;
  /** The pixel sizes the model's images come in. */
  pixels: GeminiPixelTable;
}

/** The target of a model's route at `modelUrl`, with what the catalogue says of the model. */
export function geminiContentTarget(model: ModelDefinition, modelUrl: string): GeminiContentTarget {
  return {
    modelUrl,
    candidatesPerCall: model.candidatesPerCall ?? MAX_CANDIDATES,
    pixels: pixelTableOf(model.capabilities.image_sizes),
  };
}

/**
 * Gemini's `generateContent` (and `streamGenerateContent?alt=sse`) for chat and the images
 * endpoints, the base of the Vertex AI and Gemini API adapters, whose upstreams take the same
 * bodies and answer the same responses: a subclass resolves the target (`resolveRoute`), names its
 * upstream in errors (`upstreamName`) and authenticates each call (`headers`). Images come back as
 * `inlineData` parts, possibly several per candidate; all are collected. A 200 whose answer was
 * blocked is a refusal, not a success.
 *
 * On the images endpoints, `n` beyond the target's `candidatesPerCall` becomes parallel calls
 * (`fan-out.ts`): all or nothing, each billed, each sending the prompt and every input image.
 */
export abstract class GeminiContentAdapter<T extends GeminiContentTarget>
  implements ChatProvider<T>, ImageProvider<T>, ImageEditProvider<T>
{
  abstract readonly kind: ProviderKind;
  /** The upstream as a client reads it in an error ("Vertex AI failed with HTTP 500."). */
  protected abstract readonly upstreamName: string;

  constructor(private readonly http: UpstreamHttp) {}

  abstract resolveRoute(model: ModelDefinition, route: RouteDefinition): ResolvedTarget<T>;

  /** The headers authenticating one call (made per call: a bearer token may be refreshed). */
  protected abstract headers(target: T): Promise<Record<string, string>> | Record<string, string>;

  /**
   * Chat asks for all of its `n` choices in one call (the chat service refuses `n` beyond the
   * model's `candidates_per_call`).
   */
  async chat(target: T, request: ChatRequest, signal: AbortSignal): Promise<ChatResult> {
    const response = await this.generate(target, toGeminiRequest(request, request.n), signal);
    const choices = toChatChoices(response, request.n);
    const images = choices.reduce((sum, choice) => sum + choice.images.length, 0);
    return { choices, usage: toUsage(response.usageMetadata, images) };
  }

  async *chatStream(target: T, request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatStreamEvent> {
    let events: AsyncIterable<ParsedServerSentEvent>;
    try {
      events = await this.http.postEventStream({
        url: `${target.modelUrl}:streamGenerateContent?alt=sse`,
        headers: await this.headers(target),
        body: toGeminiRequest(request, request.n),
        signal,
      });
    } catch (error) {
      throw mapUpstreamError(error, this.upstreamName);
    }
    let usage: GenerateContentResponse['usageMetadata'];
    let images = 0;
    const finished = new Set<number>();
    try {
      for await (const event of events) {
        const chunk = parseChunk(event);
        if (chunk.usageMetadata) usage = chunk.usageMetadata;
        if (chunk.promptFeedback?.blockReason) {
          for (let index = 0; index < request.n; index++) {
            finished.add(index);
            yield { type: 'finish', index, finishReason: 'content_filter' };
          }
          continue;
        }
        for (const [position, candidate] of (chunk.candidates ?? []).entries()) {
          const index = candidate.index ?? position;
          const output = candidateOutput(candidate);
          if (output.text) yield { type: 'text', index, text: output.text };
          for (const image of output.images) {
            images++;
            yield { type: 'image', index, image };
          }
          if (candidate.finishReason && !finished.has(index)) {
            finished.add(index);
            yield { type: 'finish', index, finishReason: finishReasonOf(candidate.finishReason) };
          }
        }
      }
    } catch (error) {
      throw mapUpstreamError(error, this.upstreamName);
    }
    for (let index = 0; index < request.n; index++) {
      if (!finished.has(index)) yield { type: 'finish', index, finishReason: 'stop' };
    }
    yield { type: 'usage', usage: toUsage(usage, images) };
  }

  /**
   * The images endpoint: `size` becomes the closest aspect ratio, `imageSize` the tier, image
   * output only. The response reports the pixel size Gemini really makes for the ratio and tier.
   */
  generateImages(target: T, request: ImageGenerationRequest, signal: AbortSignal): Promise<GeneratedImages> {
    return this.images(target, [{ text: request.prompt }], request, signal);
  }

  /**
   * Edits: the prompt, then the input images as `inlineData` parts, each with its real type;
   * otherwise as `generateImages`. Gemini has no mask: validation refuses one (the catalogue gives
   * these models `mask: false`).
   */
  editImages(target: T, request: ImageEditRequest, signal: AbortSignal): Promise<GeneratedImages> {
    const images: GeminiPart[] = request.images.map((image) => ({
      inlineData: { mimeType: image.mimeType, data: image.bytes.toString('base64') },
    }));
    return this.images(target, [{ text: request.prompt }, ...images], request, signal);
  }

  private async images(
    target: T,
    parts: GeminiPart[],
    request: ImageGenerationRequest,
    signal: AbortSignal,
  ): Promise<GeneratedImages> {
    const aspectRatio = closestAspectRatio(request.size);
    const results = await fanOut(
      candidateCounts(request.n, target.candidatesPerCall),
      signal,
      async (count, callSignal) => {
        const body = toGeminiImageRequest(parts, aspectRatio, request.imageSize, count);
        const response = await this.generate(target, body, callSignal);
        const images = (response.candidates ?? []).flatMap((candidate) => candidateOutput(candidate).images);
        // A call without an image (blocked, filtered, or text only) fails the request as a refusal.
        if (images.length === 0) {
          throw new GatewayError(ErrorCode.ContentPolicyViolation, refusalMessage(response), { param: 'prompt' });
        }
        return { images, usage: toUsage(response.usageMetadata, images.length) };
      },
      (result) => result.usage,
    );
    return {
      images: results.flatMap((result) => result.images.map((image) => ImagePayload.fromBase64(image.base64))),
      size: geminiImageSize(target.pixels, aspectRatio, request.imageSize),
      quality: 'auto',
      background: 'opaque',
      outputFormat: 'png',
      usage: results.reduce((sum, result) => addUsage(sum, result.usage), EMPTY_USAGE),
    };
  }

  private async generate(
    target: T,
    body: GenerateContentRequest,
    signal: AbortSignal,
  ): Promise<GenerateContentResponse> {
    try {
      const response = await this.http.postJson<GenerateContentResponse>({
        url: `${target.modelUrl}:generateContent`,
        headers: await this.headers(target),
        body,
        signal,
        rawStrings: ['data'],
      });
      return response.body;
    } catch (error) {
      throw mapUpstreamError(error, this.upstreamName);
    }
  }
}

/** A streamed chunk; its image data stays the bytes of the event (see `postJson`'s `rawStrings`). */
function parseChunk(event: ParsedServerSentEvent): GenerateContentResponse {
  try {
    return parseJsonKeepingRaw(event.bytes, ['data'], { strict: true }) as GenerateContentResponse;
  } catch (error) {
    throw new UpstreamTransportError('malformed', 'a streamed chunk is not JSON', { cause: error });
  }
}
