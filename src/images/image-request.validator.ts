import { Injectable } from '@nestjs/common';
import { InvalidRequestError } from '../common/errors/gateway.error.js';
import type { ModelCapabilities } from '../config/models.catalogue.js';
import { cannotStreamError } from '../providers/provider-registry.service.js';
import type { CreateImageDto } from './dto/create-image.dto.js';

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
    this.oneOf('size', request.size ?? 'auto', capabilities.sizes, modelId);
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

  private oneOf(param: string, value: string | undefined, allowed: readonly string[], modelId: string): void {
    if (value !== undefined && !allowed.includes(value)) {
      throw new InvalidRequestError(
        `${param} '${value}' is not supported by ${modelId}; use one of: ${allowed.join(', ')}.`,
        param,
      );
    }
  }
}
