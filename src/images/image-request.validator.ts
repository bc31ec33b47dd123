import { Injectable } from '@nestjs/common';
import { unsupportedImageSize } from '../common/errors/capability.errors.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError, InvalidRequestError } from '../common/errors/gateway.error.js';
import { formatBytes } from '../common/http/route-policy.js';
import type { UploadLimits } from '../config/app.config.js';
import type { CustomSizeRules, ModelCapabilities } from '../config/models.catalogue.js';
import type { InputImage } from '../providers/image-provider.interface.js';
import { cannotStreamError } from '../providers/provider-registry.service.js';
import type { CreateImageDto } from './dto/create-image.dto.js';
import type { CreateImageEditDto } from './dto/create-image-edit.dto.js';
import { type InspectedImage, inspectImage } from './edits/image-inspector.js';

/** An edit's input image, its bytes in hand (fetched if it was sent as a URL). */
export interface ReceivedImage {
  param: string;
  bytes: Buffer;
}

/**
 * The rules of an image request that depend on other fields or on the model's catalogue
 * capabilities. The DTO checks types and ranges; this checks the rest, before any upstream call.
 */
@Injectable()
export class ImageRequestValidator {
  validate(request: CreateImageDto, modelId: string, capabilities: ModelCapabilities): void {
    const format = request.output_format ?? 'png';
    if (request.background === 'transparent' && format === 'jpeg') {
      throw new InvalidRequestError("background 'transparent' needs output_format png or webp.", 'background');
    }
    if (request.output_compression !== undefined && format === 'png') {
      throw new InvalidRequestError(
        'output_compression applies only to output_format jpeg or webp.',
        'output_compression',
      );
    }
    if (request.partial_images !== undefined && !request.stream) {
      throw new InvalidRequestError('partial_images needs stream: true.', 'partial_images');
    }
    if (request.stream && request.response_format === 'url') {
      throw new InvalidRequestError(
        'A stream carries the images as b64_json events; leave response_format out or use b64_json.',
        'response_format',
      );
    }
    if (request.prompt.length > capabilities.max_prompt_chars) {
      throw new InvalidRequestError(
        `prompt is longer than the ${capabilities.max_prompt_chars} characters ${modelId} accepts.`,
        'prompt',
      );
    }
    const n = request.n ?? 1;
    if (n > capabilities.max_n)
      throw new InvalidRequestError(`${modelId} generates at most ${capabilities.max_n} images per request.`, 'n');
    this.checkSize(request.size ?? 'auto', capabilities, modelId);
    if (request.image_size !== undefined && !capabilities.image_sizes.includes(request.image_size)) {
      throw unsupportedImageSize(request.image_size, modelId, capabilities.image_sizes, 'image_size');
    }
    this.oneOf('quality', request.quality, capabilities.qualities, modelId);
    this.oneOf('background', request.background, capabilities.backgrounds, modelId);
    this.oneOf('output_format', format, capabilities.output_formats, modelId);
    if (request.output_compression !== undefined && !capabilities.output_compression) {
      throw new InvalidRequestError(`${modelId} does not support output_compression.`, 'output_compression');
    }
    if (request.moderation !== undefined && !capabilities.moderation) {
      throw new InvalidRequestError(`${modelId} does not support moderation.`, 'moderation');
    }
    if (request.stream && !capabilities.streaming) throw cannotStreamError(modelId);
  }

  /**
   * An edit before its images are read or fetched: a generation's rules, `input_fidelity` only
   * where the model has it, no more images than the model takes, and a mask only where it takes
   * one. Every refusal names the exact field (`image[16]`, `mask`).
   */
  validateEditFields(
    fields: CreateImageEditDto,
    sent: { images: ReadonlyArray<{ param: string }>; mask?: { param: string } },
    modelId: string,
    capabilities: ModelCapabilities,
  ): void {
    this.validate(fields, modelId, capabilities);
    if (fields.input_fidelity !== undefined && !capabilities.input_fidelity) {
      throw new InvalidRequestError(
        `${modelId} does not take input_fidelity; leave it out.`,
        'input_fidelity',
        ErrorCode.UnsupportedParameter,
      );
    }
    if (sent.images.length > capabilities.max_input_images) {
      throw new InvalidRequestError(
        `${modelId} edits at most ${capabilities.max_input_images} input images per request; ${sent.images.length} were sent.`,
        sent.images[capabilities.max_input_images]!.param,
      );
    }
    if (sent.mask && !capabilities.mask) {
      throw new InvalidRequestError(
        `${modelId} does not take a mask; leave it out and describe in the prompt what to change and where.`,
        sent.mask.param,
        ErrorCode.UnsupportedParameter,
      );
    }
  }

  /**
   * An edit's images, their bytes in hand: within the upload limits (413; a multipart upload was
   * held to them as it arrived, data URLs and fetched images are checked here) and the model's
   * own limit per image; then judged by their bytes (PNG, JPEG or WebP, whatever the name or
   * declared type), the mask from its header (a PNG with alpha, the first image's pixel size).
   */
  validateEditImages(
    images: readonly ReceivedImage[],
    mask: ReceivedImage | undefined,
    modelId: string,
    capabilities: ModelCapabilities,
    uploads: UploadLimits,
  ): { images: InputImage[]; mask?: InputImage } {
    const all = mask ? [...images, mask] : images;
    let total = 0;
    for (const { param, bytes } of all) {
      total += bytes.length;
      if (bytes.length > uploads.maxFileBytes || total > uploads.maxTotalBytes) {
        throw new GatewayError(
          ErrorCode.FileTooLarge,
          bytes.length > uploads.maxFileBytes
            ? `${param} is larger than ${formatBytes(uploads.maxFileBytes)}, the most one file may be (UPLOAD_MAX_FILE_BYTES).`
            : `The images are larger than ${formatBytes(uploads.maxTotalBytes)} together (UPLOAD_MAX_TOTAL_BYTES).`,
          { param },
        );
      }
      const limit = capabilities.max_input_image_bytes;
      if (limit !== undefined && bytes.length > limit) {
        throw new InvalidRequestError(
          `${param} is larger than ${formatBytes(limit)}, the most ${modelId} takes.`,
          param,
        );
      }
    }
    const inputs = images.map((image) => inputImage(image, inspected(image)));
    if (!mask) return { images: inputs };
    const seen = inspected(mask);
    const maskImage = inputImage(mask, seen);
    const first = inputs[0]!;
    if (seen.format !== 'png' || !seen.hasAlpha) {
      throw new InvalidRequestError(
        'mask must be a PNG with an alpha channel: its fully transparent pixels mark what to change.',
        'mask',
      );
    }
    if (maskImage.width !== first.width || maskImage.height !== first.height) {
      throw new InvalidRequestError(
        `mask is ${maskImage.width}x${maskImage.height}; it must be the size of the first image, ${first.width}x${first.height}.`,
        'mask',
      );
    }
    return { images: inputs, mask: maskImage };
  }

  /** A listed size, or (with `custom_sizes`) any `WxH` within the model's rules, each broken rule named. */
  private checkSize(size: string, capabilities: ModelCapabilities, modelId: string): void {
    const rules = capabilities.custom_sizes;
    if (capabilities.sizes.includes(size) || !rules || size === 'auto') {
      this.oneOf('size', size, capabilities.sizes, modelId);
      return;
    }
    const [width, height] = size.split('x').map(Number) as [number, number];
    // Sent upstream as written, so written as the upstream reads sizes: no leading zeros.
    const broken =
      `${width}x${height}` === size ? customSizeProblem(width, height, rules) : 'write it without leading zeros';
    if (broken) {
      throw new InvalidRequestError(
        `size '${size}' is not supported by ${modelId}: ${broken} (or use one of: ${capabilities.sizes.join(', ')}).`,
        'size',
      );
    }
  }

  private oneOf(param: string, value: string | undefined, allowed: readonly string[], modelId: string): void {
    if (value !== undefined && !allowed.includes(value)) {
      throw new InvalidRequestError(
        `${param} '${value}' is not supported by ${modelId}; use one of: ${allowed.join(', ')}.`,
        param,
      );
    }
  }
}

/** Which rule of `custom_sizes` a `width`x`height` breaks, if any. */
function customSizeProblem(width: number, height: number, rules: CustomSizeRules): string | undefined {
  const { multiple_of, min_pixels, max_pixels, max_edge, max_aspect_ratio } = rules;
  if (width % multiple_of !== 0 || height % multiple_of !== 0) return `both edges must be multiples of ${multiple_of}`;
  if (Math.max(width, height) > max_edge) return `no edge may exceed ${max_edge} pixels`;
  const pixels = width * height;
  if (pixels < min_pixels || pixels > max_pixels) {
    return `the image must have between ${min_pixels} and ${max_pixels} pixels (it has ${pixels})`;
  }
  if (Math.max(width, height) > max_aspect_ratio * Math.min(width, height)) {
    return `the long edge may be at most ${max_aspect_ratio} times the short one`;
  }
  return undefined;
}

function inspected({ param, bytes }: ReceivedImage): InspectedImage {
  if (bytes.length === 0) throw new InvalidRequestError(`${param} is empty (0 bytes).`, param);
  const seen = inspectImage(bytes);
  if (!seen) {
    throw new InvalidRequestError(
      `${param} is not a PNG, JPEG or WebP image (judged by its bytes, not its file name or content type).`,
      param,
    );
  }
  return seen;
}

function inputImage({ bytes }: ReceivedImage, seen: InspectedImage): InputImage {
  return { bytes, format: seen.format, mimeType: seen.mimeType, width: seen.width, height: seen.height };
}
