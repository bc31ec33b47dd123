import { applyDecorators, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiGatewayTimeoutResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../errors/error-response.dto.js';

export interface GenerationDoc {
  summary: string;
  /** What the route answers with `stream: true`. */
  description: string;
  /** What the route refuses with 400. */
  badRequest: string;
}

/** The error responses of a /v1 generation route, documented once. */
const ApiGenerationErrors = (badRequest: string) =>
  applyDecorators(
    ApiBadRequestResponse({ description: badRequest, type: ErrorResponseDto }),
    ApiForbiddenResponse({ description: 'The key may not use this model', type: ErrorResponseDto }),
    ApiNotFoundResponse({ description: 'Unknown model', type: ErrorResponseDto }),
    ApiConflictResponse({ description: 'The Idempotency-Key was used with another body', type: ErrorResponseDto }),
    ApiTooManyRequestsResponse({
      description: 'Rate limit (rate_limit_exceeded, Retry-After) or budget (insufficient_quota)',
      type: ErrorResponseDto,
    }),
    ApiBadGatewayResponse({ description: 'The upstream failed after retries and fallback', type: ErrorResponseDto }),
    ApiServiceUnavailableResponse({
      description: 'The model is not configured on this server',
      type: ErrorResponseDto,
    }),
    ApiGatewayTimeoutResponse({ description: 'The upstream timed out', type: ErrorResponseDto }),
  );

/**
 * A /v1 route that generates: a POST answered with 200 as OpenAI answers it (not Nest's 201),
 * documented with what it does and the errors every generation may answer (SPEC §4).
 */
export const GenerationRoute = (path: string, { summary, description, badRequest }: GenerationDoc) =>
  applyDecorators(Post(path), HttpCode(200), ApiOperation({ summary, description }), ApiGenerationErrors(badRequest));
