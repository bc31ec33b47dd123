import { Injectable } from '@nestjs/common';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { parseJsonKeepingRaw } from '../../common/json/raw-json.js';
import { AppConfig } from '../../config/app.config.js';
import type { ModelDefinition, RouteDefinition } from '../../config/models.catalogue.js';
import { EMPTY_USAGE, type UsageMeasure } from '../../usage/usage-measure.js';
import { closestAspectRatio, GEMINI_ASPECT_RATIOS } from '../aspect-ratios.js';
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
import { UpstreamHttp, UpstreamTransportError } from '../upstream-http.js';
import {
  addUsage,
  candidateOutput,
  finishReasonOf,
  isRefusal,
  refusalMessage,
  toChatChoices,
  toGeminiRequest,
  toUsage,
} from './gemini.mapper.js';
import type { GeminiPart, GenerateContentRequest, GenerateContentResponse } from './vertex.types.js';
import { VertexAuth } from './vertex-auth.js';

export interface VertexTarget {
  /** `…/publishers/google/models/{model}` without the method. */
  modelUrl: string;
}

/** Gemini answers at most 8 candidates per call. */
const MAX_CANDIDATES = 8;
const UPSTREAM = 'Vertex AI';

/**
 * Gemini image models on Vertex AI (`generateContent`, `streamGenerateContent?alt=sse`) for both
 * chat and the images endpoint. Images come back as `inlineData` parts, possibly several per
 * candidate; all are collected. A 200 whose answer was blocked is a refusal, not a success.
 */
@Injectable()
export class VertexAdapter
  implements ChatProvider<VertexTarget>, ImageProvider<VertexTarget>, ImageEditProvider<VertexTarget>
{
  readonly kind = 'vertex' as const;

  constructor(
    private readonly config: AppConfig,
    private readonly http: UpstreamHttp,
    private readonly auth: VertexAuth,
  ) {}

  resolveRoute(model: ModelDefinition, route: RouteDefinition): ResolvedTarget<VertexTarget> {
    const { project, location, baseUrl } = this.config.vertex;
    if (!project) return { missing: ['VERTEX_PROJECT'] };
    const base =
      baseUrl ??
      (location === 'global' ? 'https://aiplatform.googleapis.com' : `https://${location}-aiplatform.googleapis.com`);
    const upstreamModel = route.upstream_model ?? model.id.split('/').at(-1)!;
    return {
      target: {
        modelUrl: `${base}/v1/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(location)}/publishers/google/models/${encodeURIComponent(upstreamModel)}`,
      },
      missing: [],
    };
  }

  async chat(target: VertexTarget, request: ChatRequest, signal: AbortSignal): Promise<ChatResult> {
    const response = await this.generate(target, toGeminiRequest(request), signal);
    const choices = toChatChoices(response, request.n);
    return {
      choices,
      usage: toUsage(
        response.usageMetadata,
        choices.reduce((sum, choice) => sum + choice.images.length, 0),
      ),
    };
  }

  async *chatStream(target: VertexTarget, request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatStreamEvent> {
    let events: AsyncIterable<ParsedServerSentEvent>;
    try {
      events = await this.http.postEventStream({
        url: `${target.modelUrl}:streamGenerateContent?alt=sse`,
        headers: { authorization: await this.auth.authorization() },
        body: toGeminiRequest(request),
        signal,
      });
    } catch (error) {
      throw mapUpstreamError(error, UPSTREAM);
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
      throw mapUpstreamError(error, UPSTREAM);
    }
    for (let index = 0; index < request.n; index++) {
      if (!finished.has(index)) yield { type: 'finish', index, finishReason: 'stop' };
    }
    yield { type: 'usage', usage: toUsage(usage, images) };
  }

  /**
   * The images endpoint: `size` becomes the closest aspect ratio, `n` candidates (several calls
   * beyond 8), image output only. The response reports the pixel size Gemini really made.
   */
  generateImages(target: VertexTarget, request: ImageGenerationRequest, signal: AbortSignal): Promise<GeneratedImages> {
    return this.images(target, [{ text: request.prompt }], request, signal);
  }

  /**
   * Edits: the prompt, then the input images as `inlineData` parts, each with its real type (as
   * Google's own editing examples order them); otherwise as `generateImages`. Gemini has no mask:
   * validation refuses one (the catalogue gives these models `mask: false`).
   */
  editImages(target: VertexTarget, request: ImageEditRequest, signal: AbortSignal): Promise<GeneratedImages> {
    const images: GeminiPart[] = request.images.map((image) => ({
      inlineData: { mimeType: image.mimeType, data: image.bytes.toString('base64') },
    }));
    return this.images(target, [{ text: request.prompt }, ...images], request, signal);
  }

  private async images(
    target: VertexTarget,
    parts: GeminiPart[],
    request: ImageGenerationRequest,
    signal: AbortSignal,
  ): Promise<GeneratedImages> {
    const aspectRatio = closestAspectRatio(request.size);
    const batches: number[] = [];
    for (let left = request.n; left > 0; left -= MAX_CANDIDATES) batches.push(Math.min(left, MAX_CANDIDATES));
    const responses = await Promise.all(
      batches.map((candidateCount) =>
        this.generate(
          target,
          {
            contents: [{ role: 'user', parts }],
            generationConfig: {
              responseModalities: ['IMAGE'],
              imageConfig: { aspectRatio },
              ...(candidateCount > 1 ? { candidateCount } : {}),
            },
          },
          signal,
        ),
      ),
    );
    const images = responses.flatMap((response) =>
      (response.candidates ?? []).flatMap((candidate) => candidateOutput(candidate).images),
    );
    const usage = responses.reduce<UsageMeasure>(
      (sum, response) => addUsage(sum, toUsage(response.usageMetadata, 0)),
      EMPTY_USAGE,
    );
    if (images.length === 0) {
      const refused = responses.find(isRefusal) ?? responses[0]!;
      throw new GatewayError(ErrorCode.ContentPolicyViolation, refusalMessage(refused), { param: 'prompt' });
    }
    const pixels = GEMINI_ASPECT_RATIOS[aspectRatio]!;
    return {
      images: images.map((image) => ImagePayload.fromBase64(image.base64)),
      size: `${pixels.width}x${pixels.height}`,
      quality: 'auto',
      background: 'opaque',
      outputFormat: 'png',
      usage: { ...usage, images: images.length },
    };
  }

  private async generate(
    target: VertexTarget,
    body: GenerateContentRequest,
    signal: AbortSignal,
  ): Promise<GenerateContentResponse> {
    try {
      const response = await this.http.postJson<GenerateContentResponse>({
        url: `${target.modelUrl}:generateContent`,
        headers: { authorization: await this.auth.authorization() },
        body,
        signal,
        rawStrings: ['data'],
      });
      return response.body;
    } catch (error) {
      throw mapUpstreamError(error, UPSTREAM);
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
