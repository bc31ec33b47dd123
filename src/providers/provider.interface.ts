import type { JsonText } from '../common/json/raw-json.js';
import type { ModelDefinition, ProviderKind, RouteDefinition } from '../config/models.catalogue.js';
import type { UsageMeasure } from '../usage/usage-measure.js';

export type ImageQuality = 'auto' | 'low' | 'medium' | 'high';
export type ImageBackground = 'auto' | 'transparent' | 'opaque';
export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** An image generation request in Easel's own terms; optional fields unset = the upstream's default. */
export interface ImageGenerationRequest {
  prompt: string;
  n: number;
  size: string;
  quality?: ImageQuality;
  background?: ImageBackground;
  outputFormat: ImageFormat;
  outputCompression?: number;
  moderation?: 'auto' | 'low';
  user?: string;
}

/**
 * One generated image, held as the upstream delivered it (base64, possibly still the bytes of the
 * upstream's JSON, or image bytes) and converted lazily, only when something needs the other form.
 */
export class ImagePayload {
  private constructor(
    private base64Value?: JsonText,
    private bytesValue?: Buffer,
  ) {}

  static fromBase64(base64: JsonText): ImagePayload {
    return new ImagePayload(base64, undefined);
  }

  static fromBytes(bytes: Buffer): ImagePayload {
    return new ImagePayload(undefined, bytes);
  }

  /** The base64 text, passed through as it arrived when it came from an upstream's JSON. */
  base64(): JsonText {
    this.base64Value ??= this.bytesValue!.toString('base64');
    return this.base64Value;
  }

  bytes(): Buffer {
    const base64 = this.base64Value!;
    this.bytesValue ??= typeof base64 === 'string' ? Buffer.from(base64, 'base64') : base64.decodeBase64();
    return this.bytesValue;
  }
}

export interface GeneratedImages {
  images: ImagePayload[];
  /** What the upstream actually produced. */
  size: string;
  quality: string;
  background: string;
  outputFormat: ImageFormat;
  usage: UsageMeasure;
}

/** Where one catalogue route sends requests, resolved once at boot; `missing` names absent settings. */
export interface ResolvedTarget<T> {
  target?: T;
  missing: string[];
}

/** One upstream kind. Adapters map our domain to the vendor's wire format and back; nothing else. */
export interface RoutedProvider<T = unknown> {
  readonly kind: ProviderKind;
  resolveRoute(model: ModelDefinition, route: RouteDefinition): ResolvedTarget<T>;
}

/** What a streamed image generation yields: partial frames, each finished image, then the summary. */
export type ImageStreamEvent =
  | { type: 'partial'; imageIndex: number; partialIndex: number; image: ImagePayload }
  | { type: 'completed'; imageIndex: number; image: ImagePayload }
  | { type: 'done'; size: string; quality: string; background: string; outputFormat: ImageFormat; usage: UsageMeasure };

/** Serves `POST /v1/images/generations`. */
export interface ImageProvider<T = unknown> extends RoutedProvider<T> {
  generateImages(target: T, request: ImageGenerationRequest, signal: AbortSignal): Promise<GeneratedImages>;
}

/**
 * Also serves it with `stream: true`, for models whose catalogue capabilities say `streaming: true`
 * (the registry refuses to boot when such a model's adapter is not one of these).
 */
export interface ImageStreamProvider<T = unknown> extends ImageProvider<T> {
  generateImagesStream(
    target: T,
    request: ImageGenerationRequest,
    partialImages: number,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent>;
}

export type ChatRole = 'system' | 'user' | 'assistant';

export type ChatPart = { type: 'text'; text: string } | { type: 'image'; image: InlineImage };

export interface InlineImage {
  mimeType: string;
  base64: JsonText;
}

export interface ChatMessage {
  role: ChatRole;
  parts: ChatPart[];
}

/** A chat request in Easel's own terms. */
export interface ChatRequest {
  messages: ChatMessage[];
  /** What the model should answer with; image models default to both. */
  modalities: Array<'text' | 'image'>;
  aspectRatio?: string;
  n: number;
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  user?: string;
}

export type ChatFinishReason = 'stop' | 'length' | 'content_filter';

export interface ChatChoice {
  index: number;
  text: string | null;
  images: InlineImage[];
  finishReason: ChatFinishReason;
}

export interface ChatResult {
  choices: ChatChoice[];
  usage: UsageMeasure;
}

/** What a streaming chat yields, in order per choice; `usage` comes last. */
export type ChatStreamEvent =
  | { type: 'text'; index: number; text: string }
  | { type: 'image'; index: number; image: InlineImage }
  | { type: 'finish'; index: number; finishReason: ChatFinishReason }
  | { type: 'usage'; usage: UsageMeasure };

/** Serves `POST /v1/chat/completions`. */
export interface ChatProvider<T = unknown> extends RoutedProvider<T> {
  chat(target: T, request: ChatRequest, signal: AbortSignal): Promise<ChatResult>;
  chatStream(target: T, request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatStreamEvent>;
}

export function isImageProvider(provider: RoutedProvider): provider is ImageProvider {
  return 'generateImages' in provider && typeof provider.generateImages === 'function';
}

export function isImageStreamProvider(provider: RoutedProvider): provider is ImageStreamProvider {
  return (
    isImageProvider(provider) &&
    'generateImagesStream' in provider &&
    typeof provider.generateImagesStream === 'function'
  );
}

export function isChatProvider(provider: RoutedProvider): provider is ChatProvider {
  return 'chat' in provider && typeof provider.chat === 'function';
}
