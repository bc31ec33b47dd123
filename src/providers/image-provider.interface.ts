import { type JsonText, RawJsonString } from '../common/json/raw-json.js';
import type { IMAGE_QUALITIES, ImageSizeTier } from '../config/models.catalogue.js';
import type { UsageMeasure } from '../usage/usage-measure.js';
import type { RoutedProvider } from './provider.interface.js';

export type ImageQuality = (typeof IMAGE_QUALITIES)[number];
export type ImageBackground = 'auto' | 'transparent' | 'opaque';
export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** An image generation request in Easel's own terms; optional fields unset = the upstream's default. */
export interface ImageGenerationRequest {
  prompt: string;
  n: number;
  size: string;
  quality?: ImageQuality;
  /** Output resolution tier (models with `image_sizes`); unset: the upstream's default. */
  imageSize?: ImageSizeTier;
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

  /** The image's bytes, whole (decoded and kept on first use). */
  bytes(): Buffer {
    const base64 = this.base64Value!;
    this.bytesValue ??= typeof base64 === 'string' ? Buffer.from(base64, 'base64') : base64.decodeBase64();
    return this.bytesValue;
  }

  /** Exactly how many bytes `byteChunks` yields (`byteLength` unless the base64 holds whitespace). */
  exactByteLength(): Promise<number> {
    const base64 = this.base64Value;
    if (this.bytesValue || typeof base64 === 'string') return Promise.resolve(this.bytes().length);
    return base64!.exactDecodedLength();
  }

  /** About how many bytes the image is, known without decoding it (from its base64's length and padding). */
  get byteLength(): number {
    if (this.bytesValue) return this.bytesValue.length;
    const base64 = this.base64Value!;
    return typeof base64 === 'string' ? Buffer.byteLength(base64, 'base64') : base64.decodedLength;
  }

  /**
   * The image's bytes a slice at a time, decoded as they are read: an image that came as base64
   * (in a spooled file, in a burst) is never whole in memory.
   */
  async *byteChunks(): AsyncGenerator<Buffer> {
    const base64 = this.base64Value;
    if (this.bytesValue || typeof base64 === 'string') yield this.bytes();
    else yield* base64!.decodedChunks();
  }

  /** Keeps the image readable after its request has ended, until the returned function is called. */
  hold(): () => void {
    return this.base64Value instanceof RawJsonString ? this.base64Value.hold() : () => undefined;
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

/** An input image of an edit, as its bytes showed it (never as its declared content type). */
export interface InputImage {
  bytes: Buffer;
  format: ImageFormat;
  /** `image/png`, `image/jpeg`, `image/webp`: from `format`. */
  mimeType: string;
  width: number;
  height: number;
}

/** `POST /v1/images/edits` in Easel's own terms: a generation request plus its input images. */
export interface ImageEditRequest extends ImageGenerationRequest {
  /** At least one; the first is the one a mask applies to. */
  images: InputImage[];
  /** A PNG with alpha, the size of the first image: its transparent pixels mark what to change. */
  mask?: InputImage;
  inputFidelity?: 'high' | 'low';
}

/** Serves `POST /v1/images/edits` for models whose capabilities say `edits: true`. */
export interface ImageEditProvider<T = unknown> extends RoutedProvider<T> {
  editImages(target: T, request: ImageEditRequest, signal: AbortSignal): Promise<GeneratedImages>;
}

/** Also serves edits with `stream: true` (edit models whose capabilities say `streaming: true`). */
export interface ImageEditStreamProvider<T = unknown> extends ImageEditProvider<T> {
  editImagesStream(
    target: T,
    request: ImageEditRequest,
    partialImages: number,
    signal: AbortSignal,
  ): AsyncIterable<ImageStreamEvent>;
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

export function isImageEditProvider(provider: RoutedProvider): provider is ImageEditProvider {
  return 'editImages' in provider && typeof provider.editImages === 'function';
}

export function isImageEditStreamProvider(provider: RoutedProvider): provider is ImageEditStreamProvider {
  return (
    isImageEditProvider(provider) && 'editImagesStream' in provider && typeof provider.editImagesStream === 'function'
  );
}
