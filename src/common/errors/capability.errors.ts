import { ErrorCode } from './error-code.enum.js';
import { InvalidRequestError } from './gateway.error.js';

/**
 * 400 for an output resolution tier the model does not list (`image_size` on the images
 * endpoints, `image_config.image_size` on chat): `unsupported_parameter` when it has no tiers.
 */
export function unsupportedImageSize(
  tier: string,
  modelId: string,
  tiers: readonly string[],
  param: string,
): InvalidRequestError {
  return tiers.length === 0
    ? new InvalidRequestError(
        `${modelId} has no image size tiers; leave ${param} out.`,
        param,
        ErrorCode.UnsupportedParameter,
      )
    : new InvalidRequestError(
        `${param} '${tier}' is not supported by ${modelId}; use one of: ${tiers.join(', ')}.`,
        param,
      );
}
