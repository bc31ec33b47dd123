import { isJsonText } from '../../common/json/raw-json.js';
import type { UsageMeasure } from '../../usage/usage-measure.js';
import {
  type GeneratedImages,
  type ImageEditRequest,
  type ImageFormat,
  type ImageGenerationRequest,
  ImagePayload,
} from '../image-provider.interface.js';
import { MultipartBody, type MultipartField, type MultipartFile } from '../multipart-body.js';
import { UpstreamTransportError } from '../upstream-http.js';
import type { OpenAiImagesBody, OpenAiImagesResponse, OpenAiImagesUsage } from './openai-images.types.js';

/*
 * Easel's image requests as OpenAI's Images API takes them, and its answers back: the mapping the
 * public API and Azure OpenAI share (they differ only in URL, credentials and where the model is named).
 */

const FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'webp'];

/**
 * A generation's JSON body; `model` (first, as the SDKs send it) only where the upstream takes it
 * in the body. `response_format` is never sent: GPT image models answer base64 only, and Azure
 * refuses the field.
 */
export function toImagesBody(request: ImageGenerationRequest, model?: string): OpenAiImagesBody {
  const body: OpenAiImagesBody = model === undefined ? { prompt: request.prompt } : { model, prompt: request.prompt };
  body.n = request.n;
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
 * An edit as the multipart form of `images/edits`: the generation's fields as text (`model` among
 * them where the upstream takes it), `input_fidelity`, any `extra` fields (`stream`,
 * `partial_images`), then the images (`image` for one, repeated `image[]` for several, as the
 * OpenAI SDKs send them) and the mask, each with its real content type (`application/octet-stream`
 * is refused).
 */
export function toEditForm(request: ImageEditRequest, model?: string, extra: MultipartField[] = []): MultipartBody {
  const fields: MultipartField[] = Object.entries(toImagesBody(request, model)).map(([name, value]) => ({
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

/**
 * An `ImagesResponse` as Easel's result: the base64 passed on untouched, what the upstream says
 * it produced (else what was asked), and the usage. Throws a `malformed` transport error when it
 * carries no image data.
 */
export function fromImagesResponse(body: OpenAiImagesResponse, request: ImageGenerationRequest): GeneratedImages {
  const data = Array.isArray(body.data) ? body.data : [];
  if (data.length === 0 || data.some((item) => !isJsonText(item.b64_json) || item.b64_json.length === 0)) {
    throw new UpstreamTransportError('malformed', 'the response has no base64 image data');
  }
  return {
    images: data.map((item) => ImagePayload.fromBase64(item.b64_json!)),
    ...producedSettings(body, request),
    usage: toUsage(body.usage, data.length),
  };
}

/** What the upstream reports it made (a response, a stream's last `*.completed` event), else what was asked. */
export function producedSettings(
  produced: Pick<OpenAiImagesResponse, 'size' | 'quality' | 'background' | 'output_format'>,
  request: ImageGenerationRequest,
): Pick<GeneratedImages, 'size' | 'quality' | 'background' | 'outputFormat'> {
  return {
    size: produced.size ?? request.size,
    quality: produced.quality ?? request.quality ?? 'auto',
    background: produced.background ?? request.background ?? 'auto',
    outputFormat: FORMATS.find((format) => format === produced.output_format) ?? request.outputFormat,
  };
}

/**
 * `usage` as Easel's measure. A missing detail is derived from its total (text input = input −
 * image input; image output = output − text output); a count that is not a whole number ≥ 0 is 0.
 */
export function toUsage(usage: OpenAiImagesUsage | undefined, images: number): UsageMeasure {
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
