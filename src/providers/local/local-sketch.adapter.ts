import { Injectable } from '@nestjs/common';
import type { ImageSizeTier, ModelDefinition, RouteDefinition } from '../../config/models.catalogue.js';
import { EMPTY_USAGE } from '../../usage/usage-measure.js';
import { GEMINI_ASPECT_RATIOS } from '../aspect-ratios.js';
import type {
  ChatProvider,
  ChatRequest,
  ChatResult,
  ChatStreamEvent,
  InlineImage,
} from '../chat-provider.interface.js';
import {
  type GeneratedImages,
  type ImageEditRequest,
  type ImageEditStreamProvider,
  type ImageGenerationRequest,
  ImagePayload,
  type ImageStreamEvent,
  type ImageStreamProvider,
} from '../image-provider.interface.js';
import type { ResolvedTarget } from '../provider.interface.js';
import { blurImage, editSketch, renderSketch, type SketchSpec } from './sketch.renderer.js';

const DEFAULT_SIZE = '1024x1024';

/** The built-in `local` provider: renders and edits with sharp, no network, no tokens. */
@Injectable()
export class LocalSketchAdapter
  implements ImageStreamProvider<null>, ImageEditStreamProvider<null>, ChatProvider<null>
{
  readonly kind = 'local' as const;

  resolveRoute(_model: ModelDefinition, _route: RouteDefinition): ResolvedTarget<null> {
    return { target: null, missing: [] };
  }

  generateImages(_target: null, request: ImageGenerationRequest, signal: AbortSignal): Promise<GeneratedImages> {
    return this.renderImages(request, signal, renderSketch);
  }

  /**
   * Draws the sketch of the prompt over the first image, where the mask lets it. The other images
   * are not drawn, but their count is written with the prompt, so that they change the result.
   */
  editImages(_target: null, request: ImageEditRequest, signal: AbortSignal): Promise<GeneratedImages> {
    const [image, ...references] = request.images;
    const suffix = references.length === 0 ? '' : ` (+${references.length} image${references.length === 1 ? '' : 's'})`;
    return this.renderImages(request, signal, (spec) =>
      editSketch({ ...spec, prompt: `${spec.prompt}${suffix}`, base: image!.bytes, mask: request.mask?.bytes }),
    );
  }

  /**
   * Streams real partial images: the finished picture, blurred less and less, in the requested
   * format; then each finished image.
   */
  async *generateImagesStream(
    target: null,
    request: ImageGenerationRequest,
    partialImages: number,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent> {
    yield* this.streamImages(await this.generateImages(target, request, signal), partialImages, signal);
  }

  /** Streams an edit the way generateImagesStream streams a generation. */
  async *editImagesStream(
    target: null,
    request: ImageEditRequest,
    partialImages: number,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent> {
    yield* this.streamImages(await this.editImages(target, request, signal), partialImages, signal);
  }

  /** Renders the n images (seed = index) with `render`, and reports them as generations do. */
  private async renderImages(
    request: ImageGenerationRequest,
    signal: AbortSignal,
    render: (spec: SketchSpec) => Promise<Buffer>,
  ): Promise<GeneratedImages> {
    const [width, height] = atTier(
      (request.size === 'auto' ? DEFAULT_SIZE : request.size).split('x').map(Number) as [number, number],
      request.imageSize,
    );
    const size = `${width}x${height}`;
    const transparent = request.background === 'transparent';
    const images: ImagePayload[] = [];
    for (let seed = 0; seed < request.n; seed++) {
      signal.throwIfAborted();
      const bytes = await render({
        prompt: request.prompt,
        seed,
        width,
        height,
        format: request.outputFormat,
        transparent,
        compression: request.outputCompression,
      });
      images.push(ImagePayload.fromBytes(bytes));
    }
    return {
      images,
      size,
      quality: request.quality && request.quality !== 'auto' ? request.quality : 'medium',
      background: transparent ? 'transparent' : 'opaque',
      outputFormat: request.outputFormat,
      usage: { ...EMPTY_USAGE, images: request.n },
    };
  }

  /** The finished images' partial frames (each blurred less and less), the images, then the summary. */
  private async *streamImages(
    result: GeneratedImages,
    partialImages: number,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent> {
    for (const [imageIndex, image] of result.images.entries()) {
      for (let partialIndex = 0; partialIndex < partialImages; partialIndex++) {
        signal.throwIfAborted();
        const sigma = 24 / (partialIndex + 1);
        const partial = await blurImage(image.bytes(), sigma, result.outputFormat);
        yield { type: 'partial', imageIndex, partialIndex, image: ImagePayload.fromBytes(partial) };
      }
      yield { type: 'completed', imageIndex, image };
    }
    const { images: _images, ...summary } = result;
    yield { type: 'done', ...summary };
  }

  /** A short text and a sketch of the last user text, per choice. */
  async chat(_target: null, request: ChatRequest, signal: AbortSignal): Promise<ChatResult> {
    const choices = [];
    for (let index = 0; index < request.n; index++) {
      signal.throwIfAborted();
      choices.push({
        index,
        text: request.modalities.includes('text') ? sketchCaption(request) : null,
        images: request.modalities.includes('image') ? [await this.chatImage(request, index)] : [],
        finishReason: 'stop' as const,
      });
    }
    return {
      choices,
      usage: { ...EMPTY_USAGE, images: choices.reduce((sum, choice) => sum + choice.images.length, 0) },
    };
  }

  async *chatStream(_target: null, request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatStreamEvent> {
    let images = 0;
    for (let index = 0; index < request.n; index++) {
      if (request.modalities.includes('text')) {
        const words = sketchCaption(request).split(/(?<= )/);
        const half = Math.ceil(words.length / 2);
        yield { type: 'text', index, text: words.slice(0, half).join('') };
        yield { type: 'text', index, text: words.slice(half).join('') };
      }
      signal.throwIfAborted();
      if (request.modalities.includes('image')) {
        images++;
        yield { type: 'image', index, image: await this.chatImage(request, index) };
      }
      yield { type: 'finish', index, finishReason: 'stop' };
    }
    yield { type: 'usage', usage: { ...EMPTY_USAGE, images } };
  }

  private async chatImage(request: ChatRequest, seed: number): Promise<InlineImage> {
    const ratio = GEMINI_ASPECT_RATIOS[request.aspectRatio ?? '1:1']!;
    const [width, height] = atTier([ratio.width, ratio.height], request.imageSize);
    const bytes = await renderSketch({
      prompt: lastUserText(request),
      seed,
      width,
      height,
      format: 'png',
      transparent: false,
    });
    return { mimeType: 'image/png', base64: bytes.toString('base64') };
  }
}

function lastUserText(request: ChatRequest): string {
  for (const message of [...request.messages].reverse()) {
    if (message.role !== 'user') continue;
    const text = message.parts
      .flatMap((part) => (part.type === 'text' ? [part.text] : []))
      .join(' ')
      .trim();
    if (text) return text;
  }
  return 'an empty canvas';
}

function sketchCaption(request: ChatRequest): string {
  const subject = lastUserText(request);
  // Never half an emoji: an unpaired surrogate, which no JSON store (jsonb, for Idempotency-Key) takes.
  return `Here is a sketch of "${subject.length > 80 ? `${subject.slice(0, 79).replace(/[\ud800-\udbff]$/, '')}…` : subject}".`;
}

/** Long edges of the resolution tiers, as Gemini's square images have them. */
const TIER_EDGE: Record<ImageSizeTier, number> = { '512': 512, '1K': 1024, '2K': 2048, '4K': 4096 };

/** The size scaled so that its long edge is the tier's (even pixel counts); as it is without a tier. */
function atTier([width, height]: [number, number], tier: ImageSizeTier | undefined): [number, number] {
  if (tier === undefined) return [width, height];
  const scale = TIER_EDGE[tier] / Math.max(width, height);
  return [2 * Math.round((width * scale) / 2), 2 * Math.round((height * scale) / 2)];
}
